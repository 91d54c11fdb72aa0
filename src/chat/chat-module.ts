import { randomUUID } from 'node:crypto';
import { type CompletionService, createCompletionService } from '../completions/completion-service.js';
import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import type { Logger } from '../logger.js';
import type { MemoryService } from '../memory/memory-service.js';
import type { Metrics } from '../metrics/index.js';
import type { PriceBook } from '../policy/prices/types.js';
import type { UsagePolicy } from '../policy/usage-policy.js';
import type { ProviderGateway } from '../providers/gateway.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { DocumentService } from '../rag/document-service.js';
import type { MessageStreams } from '../stream-store/types.js';
import { type ChatService, createChatService } from './chat-service.js';
import { createDrainGate } from './drain-gate.js';
import { createGenerationRunner } from './generation-runner.js';
import { createLiveness, type Liveness } from './liveness.js';

/** After the generations of a drain ended, how long their local readers get to take the terminal event. */
const READER_GRACE_MS = 2_000;

export interface ChatModule {
  service: ChatService;
  /** Calls not stored as conversations (the REST endpoints), under the same limits and drain. */
  completions: CompletionService;
  liveness: Liveness;
  /** Generations running in this process: stored chats and REST calls. */
  readonly running: number;
  /**
   * Shutdown, first step: refuses new generations (SHUTTING_DOWN), lets the running ones finish
   * within `timeoutMs` (the rest end INTERRUPTED), and waits until this process's readers of them
   * have taken their terminal event. Readers keep being served meanwhile.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Ends local generations as INTERRUPTED, then stops listening and closes the stream store. */
  close(): Promise<void>;
}

export interface ChatModuleDeps {
  db: Db;
  /** Writes each turn's rows and its end: two statements per chat, the hottest writes. */
  sql: SqlRunner;
  providers: ProviderGateway;
  pubsub: PubSub;
  logger: Logger;
  settings: ConfigFile['chat'];
  /** The stream buffer and what a dead writer streamed after its last partial write. */
  streams: MessageStreams;
  documents: DocumentService;
  memory: MemoryService;
  /** Admits each turn under its caller's limits and budget, and settles it at the end. */
  usage: UsagePolicy;
  prices: PriceBook;
  /** Told once per generation how it went (tokens, cost, timings). */
  metrics?: Metrics | undefined;
}

/** Wires the chat parts: the generation runner, liveness, and cancellation across instances over pub/sub. */
export function createChatModule(deps: ChatModuleDeps): ChatModule {
  const { db, sql, providers, pubsub, logger, settings } = deps;
  const { store, tails } = deps.streams;
  const instanceId = randomUUID();
  const runner = createGenerationRunner({
    db,
    sql,
    router: providers.router,
    store,
    logger,
    settings,
    prices: deps.prices,
    metrics: deps.metrics,
  });
  const liveness = createLiveness({ db, store, logger, instanceId, settings, running: () => runner.running, tails });

  const gate = createDrainGate();
  const cancels = pubsub.subscribe('cancelMessage');
  (async () => {
    for await (const messageId of cancels) runner.cancel(messageId);
  })().catch((error) => logger.error('cancel listener stopped', { error }));

  const service = createChatService({
    db,
    sql,
    router: providers.router,
    store,
    runner,
    gate,
    instanceId,
    settings,
    documents: deps.documents,
    memory: deps.memory,
    usage: deps.usage,
    requestCancel: async (messageId) => pubsub.publish('cancelMessage', messageId),
  });

  const completions = createCompletionService({
    sql,
    router: providers.router,
    usage: deps.usage,
    prices: deps.prices,
    gate,
    settings,
    logger,
    metrics: deps.metrics,
  });

  return {
    service,
    completions,
    liveness,
    get running() {
      return runner.running + completions.running;
    },
    async drain(timeoutMs) {
      gate.close();
      const deadline = AbortSignal.timeout(timeoutMs);
      const [drained] = await Promise.all([runner.drain(deadline), completions.drain(deadline)]);
      await gate.readersDone(drained, AbortSignal.timeout(READER_GRACE_MS));
    },
    async close() {
      gate.close();
      liveness.stop();
      await runner.stop();
      await completions.drain(AbortSignal.abort());
      await cancels.return?.();
      await store.close();
    },
  };
}
