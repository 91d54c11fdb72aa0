import type { Db } from './db/database.js';
import type { EmbeddingUsage } from './embeddings/index.js';
import type { GenerationFigures } from './http/access-record.js';
import type { Logger } from './logger.js';
import type { Viewer } from './policy/viewer.js';
import type { Services } from './services.js';

export type { Viewer };

/** What every resolver receives: built per request (HTTP) or per operation (WebSocket). */
export interface Context {
  db: Db;
  viewer: Viewer;
  requestId: string;
  logger: Logger;
  services: Services;
  /** Added to this operation's HTTP response (absent over WebSocket). */
  responseHeaders?: Headers | undefined;
  /** The trace id of this operation's span, set when it starts (tracing on and sampled), for log lines. */
  traceId?: string | undefined;
  /** Called for each generation delta a subscription sends (set by the operation observer, for metrics). */
  deltaSent?: (() => void) | undefined;
  /**
   * Told the tokens of each embedding the operation made (a search, a memory, a turn's grounding)
   * when the provider reported them; set by the operation observer, for the access log.
   */
  embeddingUsed?: ((usage: EmbeddingUsage) => void) | undefined;
  /**
   * Told the figures of a generation that ended within the operation (a `chat` subscription's
   * turn: its stored usage, cost and error code); set by the operation observer, for the access log.
   */
  generationEnded?: ((end: GenerationFigures) => void) | undefined;
}
