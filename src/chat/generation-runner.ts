import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { RoutedChatRequest, Router } from '../providers/router/index.js';
import type { TokenUsage } from '../providers/types.js';
import { createPartialWriter } from './partial-writer.js';
import type { EndEvent, MessageStreamStore } from './stream-store/types.js';

export interface GenerationJob {
  messageId: string;
  userId: string;
  request: Omit<RoutedChatRequest, 'signal'>;
  /** `performance.now()` when the request reached the gateway: TTFT and latency count from here. */
  receivedAt: number;
}

export interface GenerationRunner {
  /** Runs the generation in the background; every outcome ends in the database and the stream. */
  start(job: GenerationJob): void;
  /** Aborts a generation running in this process; false when it is not here. */
  cancel(messageId: string): boolean;
  readonly running: number;
  /** Ends every local generation as INTERRUPTED (shutdown) and waits for them to be written. */
  stop(): Promise<void>;
}

/** Why a generation was aborted, carried as the AbortSignal's reason. */
class StopReason {
  constructor(
    readonly code: 'CANCELLED' | 'INTERRUPTED',
    readonly message: string,
  ) {}
}

export interface GenerationRunnerDeps {
  db: Db;
  router: Router;
  store: MessageStreamStore;
  logger: Logger;
  settings: ConfigFile['chat'];
}

/**
 * Runs generations: routes the request, numbers and buffers each delta for subscribers, saves
 * the partial text every `flushIntervalMs` (all running messages in one statement), and writes the final row before the stream's end
 * event, so that anyone who sees the end finds the finished message in the database.
 */
export function createGenerationRunner({
  db,
  router,
  store,
  logger,
  settings,
}: GenerationRunnerDeps): GenerationRunner {
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const partials = createPartialWriter({ db, logger, intervalMs: settings.flushIntervalMs });

  async function run(job: GenerationJob, signal: AbortSignal): Promise<void> {
    let seq = 0;
    let text = '';
    let ttftMs: number | null = null;
    let provider: string | null = null;
    let model: string | null = null;
    let usage: TokenUsage | null = null;
    let finishReason: string | null = null;
    let failure: { code: string; message: string } | null = null;

    try {
      for await (const part of router.stream({ ...job.request, signal })) {
        if (part.type === 'start') {
          provider = part.provider;
          model = part.model;
        } else if (part.type === 'text-delta') {
          if (part.text === '') continue;
          ttftMs ??= performance.now() - job.receivedAt;
          seq++;
          text += part.text;
          await store.appendDelta(job.messageId, seq, part.text);
          partials.set(job.messageId, { content: text, seq });
        } else if (part.type === 'finish') {
          usage = part.usage;
          finishReason = part.finishReason.raw ?? part.finishReason.unified;
        } else {
          provider ??= part.error.provider;
          failure = { code: part.error.code, message: part.error.message };
        }
      }
    } catch (error) {
      logger.error('generation failed unexpectedly', { messageId: job.messageId, error });
      failure = { code: 'UPSTREAM_ERROR', message: 'The generation failed unexpectedly' };
    }
    if (signal.aborted && signal.reason instanceof StopReason) {
      failure = { code: signal.reason.code, message: signal.reason.message };
    }

    const status = failure === null ? 'COMPLETE' : failure.code === 'CANCELLED' ? 'CANCELLED' : 'FAILED';
    // A batch write still in flight cannot undo this: it only touches messages still STREAMING.
    partials.delete(job.messageId);
    const written = await db.message.updateMany({
      where: { id: job.messageId, status: 'STREAMING' },
      data: {
        content: text,
        status,
        provider,
        model: model ?? job.request.model ?? null,
        promptTokens: usage?.promptTokens ?? null,
        completionTokens: usage?.completionTokens ?? null,
        ttftMs,
        latencyMs: performance.now() - job.receivedAt,
        finishReason,
        error: failure?.message ?? null,
        errorCode: failure?.code ?? null,
        lastSeq: seq,
        ownerId: null,
      },
    });
    // Zero rows: the message was deleted or already ended by someone else, who ended its stream.
    if (written.count === 0) return;
    if (usage && provider && model) {
      await db.usageEvent
        .create({ data: { userId: job.userId, messageId: job.messageId, provider, model, ...usage } })
        .catch((error) => logger.warn('could not record usage', { messageId: job.messageId, error }));
    }
    const end: EndEvent =
      failure === null
        ? { type: 'end', status: 'COMPLETE' }
        : { type: 'end', status, code: failure.code, error: failure.message };
    await store.end(job.messageId, end);
  }

  return {
    start(job) {
      const controller = new AbortController();
      const done = run(job, controller.signal)
        .catch((error) => logger.error('could not finish a generation', { messageId: job.messageId, error }))
        .finally(() => running.delete(job.messageId));
      running.set(job.messageId, { controller, done });
      partials.start();
    },
    cancel(messageId) {
      const entry = running.get(messageId);
      if (!entry) return false;
      entry.controller.abort(new StopReason('CANCELLED', 'Cancelled by the user'));
      return true;
    },
    get running() {
      return running.size;
    },
    async stop() {
      const entries = [...running.values()];
      for (const entry of entries) entry.controller.abort(new StopReason('INTERRUPTED', 'The server shut down'));
      await Promise.all(entries.map((entry) => entry.done));
      partials.stop();
    },
  };
}
