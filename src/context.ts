import type { Db } from './db/database.js';
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
  /** Called for each generation delta a subscription sends (set by the operation observer, for metrics). */
  deltaSent?: (() => void) | undefined;
}
