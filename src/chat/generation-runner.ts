import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import { AppError } from '../errors.js';
import type { Message } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { PriceBook } from '../policy/prices/types.js';
import type { Admission } from '../policy/usage-policy.js';
import type { PiiSession } from '../privacy/pii-session.js';
import type { RoutedChatRequest, Router } from '../providers/router/index.js';
import type { TokenUsage, ToolCall } from '../providers/types.js';
import type { MessageEnd, MessageStreamStore } from '../stream-store/types.js';
import { countTokens } from '../util/count-tokens.js';
import { type MixedStep, withBuiltinTools } from './builtin-tool-loop.js';
import type { BuiltinToolRunner } from './builtin-tools.js';
import { deletedEvent, endEventOf } from './chat-events.js';
import { createDeltaBatcher } from './delta-batcher.js';
import { type OutputCheck, verdictOf } from './output-check.js';
import { createPartialWriter } from './partial-writer.js';
import { finishMessage, type GenerationOutcome } from './turn-rows.js';

export interface GenerationJob {
  messageId: string;
  userId: string;
  request: Omit<RoutedChatRequest, 'signal'>;
  /** `performance.now()` when the request reached the gateway: TTFT and latency count from here. */
  receivedAt: number;
  /** Whether the message's rows were written; the generation may start before they are. */
  saved: Promise<boolean>;
  /** The API key the turn is charged to (null: a JWT or the admin key), for the usage event. */
  apiKeyId: string | null;
  /** Prompt tokens as the gateway counted them: charged when the provider reports no usage. */
  contextTokens: number;
  /** The limits and budget hold the turn was admitted under, settled at its end. */
  admission: Admission;
  /** The turn's privacy policy: masks what goes upstream and restores what comes back. */
  pii?: PiiSession | undefined;
  /** Checks the reply against the turn's response format before it may be COMPLETE. */
  outputCheck?: OutputCheck | undefined;
  /** The gateway's own tools for this turn, run between model calls (see builtin-tool-loop.ts). */
  builtins?: BuiltinToolRunner | undefined;
  /** The ordinal the first source of a builtin search gets (after the turn's own citations). */
  firstToolCitation?: number;
  /** Kept on a message that ends REQUIRES_ACTION: what its continuation needs again. */
  turnOptions?: unknown;
}

export interface GenerationRunner {
  /**
   * Runs the generation in the background; every outcome ends in the database and the stream.
   * Resolves with the final row as this process wrote it, before the stream's end goes out; null
   * when it wrote none (the message was deleted, ended elsewhere, or never saved).
   */
  start(job: GenerationJob): Promise<Message | null>;
  /** Aborts a generation running in this process; false when it is not here. */
  cancel(messageId: string): boolean;
  readonly running: number;
  /** Ends every local generation as INTERRUPTED (shutdown) and waits for them to be written. */
  stop(): Promise<void>;
  /**
   * Lets the generations running here finish until `deadline` aborts, then ends the rest as
   * INTERRUPTED. Resolves with the ids that were running, once every one of them is written.
   * The caller refuses new generations first.
   */
  drain(deadline: AbortSignal): Promise<string[]>;
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
  sql: SqlRunner;
  router: Router;
  store: MessageStreamStore;
  logger: Logger;
  settings: ConfigFile['chat'];
  prices: PriceBook;
  /** Told once per generation how it went. */
  metrics?: Pick<Metrics, 'generationEnded'> | undefined;
}

/**
 * Runs generations: routes the request, numbers and buffers each delta for subscribers, saves
 * the partial text every `flushIntervalMs` (all running messages in one statement), and writes
 * the final row before the stream's end event, so that anyone who sees the end finds the
 * finished message in the database. The provider's StreamParts stop here: their text becomes
 * MessageDelta events and their outcome one MessageEnd, the events every reader gets.
 */
export function createGenerationRunner({
  db,
  sql,
  router,
  store,
  logger,
  settings,
  prices,
  metrics,
}: GenerationRunnerDeps): GenerationRunner {
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const partials = createPartialWriter({ db, logger, intervalMs: settings.flushIntervalMs });

  /**
   * Writes a generation's end. When Postgres refuses it (a value it cannot hold, in the tool
   * calls or anywhere else), it is written again as FAILED without them, so that the message
   * still ends and its usage event is still recorded. Resolves with the outcome as written;
   * throws when neither write lands.
   */
  async function writeEnd(outcome: GenerationOutcome): Promise<{ row: Message | null; outcome: GenerationOutcome }> {
    try {
      return { row: await finishMessage(sql, outcome), outcome };
    } catch (error) {
      logger.error('could not write the end of a generation; writing it as FAILED', {
        messageId: outcome.messageId,
        error,
      });
    }
    const failed = unstorable(outcome);
    return { row: await finishMessage(sql, failed), outcome: failed };
  }

  /** Ends not written yet, each retried every heartbeat: this instance's heartbeat keeps them from a sweep. */
  const unwritten = new Set<NodeJS.Timeout>();
  function retryEnd(outcome: GenerationOutcome, attempt = 1): void {
    if (attempt > MAX_END_RETRIES) {
      logger.error('gave up writing the end of a generation; the next start ends it', { messageId: outcome.messageId });
      return;
    }
    const timer = setTimeout(() => {
      unwritten.delete(timer);
      finishMessage(sql, outcome).catch((error: unknown) => {
        logger.warn('could not write the end of a generation yet', { messageId: outcome.messageId, attempt, error });
        retryEnd(outcome, attempt + 1);
      });
    }, settings.heartbeatMs);
    timer.unref();
    unwritten.add(timer);
  }

  const checkOutput = (check: OutputCheck, text: string, messageId: string) =>
    verdictOf(check, text, (error) =>
      logger.warn('the reply could not be checked against its response format', { messageId, error }),
    );

  async function run(
    job: GenerationJob,
    signal: AbortSignal,
    finished: (row: Message | null) => void,
    endStream: (end: MessageEnd) => Promise<void>,
  ): Promise<void> {
    let seq = 0;
    let text = '';
    let ttftMs: number | null = null;
    let provider: string | null = null;
    let kind: string | null = null;
    let model: string | null = null;
    let usage: TokenUsage | null = null;
    /** What the provider reported before a stream was cut (an error part's usage). */
    let partialUsage: Partial<TokenUsage> | undefined;
    let finishReason: string | null = null;
    let failure: { code: string; message: string } | null = null;
    /** Upstream figures for metrics: the router's time to first chunk, and text parts received. */
    let upstreamTtftMs: number | null = null;
    let chunks = 0;
    /** The tool calls the reply asks the client to run, in the order they started. */
    const toolCalls = new Map<string, ToolCall>();
    /** A step that asked for builtin tools besides the client's: all its calls, the builtin ones answered. */
    let mixed: MixedStep | undefined;
    /** The last buffer write, and the first one that failed. */
    let lastWrite: Promise<void> = Promise.resolve();
    let writeFailed: unknown;
    const deltas = createDeltaBatcher((delta) => {
      ttftMs ??= performance.now() - job.receivedAt;
      seq++;
      text += delta;
      lastWrite = store
        .appendDelta({ kind: 'delta', messageId: job.messageId, seq, text: delta })
        .catch((error: unknown) => {
          writeFailed ??= error;
        });
      partials.set(job.messageId, { content: text, seq });
    }, settings.deltaWindowMs);

    try {
      const stream = job.pii ? job.pii.wrap(router.stream) : router.stream;
      const parts = withBuiltinTools(stream, { ...job.request, signal }, job.builtins, (step) => {
        mixed = step;
      });
      for await (const part of parts) {
        if (writeFailed !== undefined) throw writeFailed;
        if (part.type === 'tool-call-start') {
          toolCalls.set(part.id, { id: part.id, name: part.name, arguments: '' });
        } else if (part.type === 'tool-call-delta') {
          const call = toolCalls.get(part.id);
          if (call) call.arguments += part.argumentsDelta;
        } else if (part.type === 'start') {
          provider = part.provider;
          kind = part.kind;
          model = part.model;
          upstreamTtftMs ??= part.ttftMs;
        } else if (part.type === 'text-delta') {
          chunks++;
          // Postgres text cannot hold NUL: replaced here, so the deltas and the stored text agree.
          deltas.push(withoutNul(part.text));
        } else if (part.type === 'finish') {
          usage = part.usage;
          finishReason = part.finishReason.raw ?? part.finishReason.unified;
        } else if (part.type === 'error') {
          provider ??= part.error.provider;
          failure = { code: part.error.code, message: part.error.message };
          partialUsage = part.usage;
        }
      }
      deltas.flush();
      await lastWrite;
      if (writeFailed !== undefined) throw writeFailed;
    } catch (error) {
      deltas.flush();
      if (AppError.isInstance(error) && error.code === 'PII_DETECTED') {
        // A builtin tool's result held personal data under `block`: it was not sent.
        failure = { code: error.code, message: error.message };
      } else {
        logger.error('generation failed unexpectedly', { messageId: job.messageId, error });
        failure = { code: 'UPSTREAM_ERROR', message: 'The generation failed unexpectedly' };
      }
    }
    if (signal.aborted && signal.reason instanceof StopReason) {
      failure = { code: signal.reason.code, message: signal.reason.message };
    }

    const asksForTools = failure === null && toolCalls.size > 0;
    // A reply that must be JSON is not COMPLETE until it is; its text is kept either way.
    const invalid =
      failure === null && !asksForTools && job.outputCheck ? checkOutput(job.outputCheck, text, job.messageId) : null;
    if (invalid !== null) failure = { code: 'INVALID_OUTPUT', message: invalid };
    const status = asksForTools
      ? 'REQUIRES_ACTION'
      : failure === null
        ? 'COMPLETE'
        : failure.code === 'CANCELLED'
          ? 'CANCELLED'
          : 'FAILED';
    // A batch write still in flight cannot undo this: it only touches messages still STREAMING.
    partials.delete(job.messageId);
    const { messageId } = job;
    let end: MessageEnd = asksForTools
      ? { kind: 'tool-calls', messageId }
      : failure === null
        ? { kind: 'completed', messageId }
        : { kind: 'failed', messageId, code: failure.code, error: failure.message };
    if (!(await job.saved.catch(() => false))) {
      // Its rows never landed (the request failed): nothing to finish, only the buffer to close.
      await job.admission.settle(NOTHING);
      finished(null);
      await endStream(end);
      return;
    }
    // Once the provider answered, every end is charged: its reported usage, or (cut off,
    // cancelled, failed after text) what the gateway counted of the prompt and the text it got.
    // A stream that ended without a usage report (an OpenAI-compatible server ignoring
    // include_usage) reads as zero tokens: the text says otherwise, so it is counted.
    const reported = usage !== null && (text === '' || usage.promptTokens + usage.completionTokens > 0) ? usage : null;
    const charged = reported ?? (kind === null ? null : counted(job.contextTokens, text, partialUsage));
    const costNanos =
      charged && kind && model ? prices.costNanos({ kind, model, provider: provider ?? undefined }, charged) : null;
    const latencyMs = performance.now() - job.receivedAt;
    const outcome: GenerationOutcome = {
      messageId: job.messageId,
      content: text,
      status,
      provider,
      model: model ?? job.request.model ?? null,
      usage: charged,
      estimated: reported === null,
      costNanos,
      apiKeyId: job.apiKeyId,
      ttftMs,
      latencyMs,
      finishReason,
      error: failure?.message ?? null,
      errorCode: failure?.code ?? null,
      lastSeq: seq,
      toolCalls: asksForTools
        ? {
            calls: mixed?.calls ?? [...toolCalls.values()],
            results: mixed?.results ?? null,
            turnOptions: job.turnOptions ?? null,
          }
        : undefined,
      toolCitations: job.builtins
        ? { cited: job.builtins.citations, firstOrdinal: job.firstToolCitation ?? 1 }
        : undefined,
    };
    let written: Message | null;
    try {
      const ended = await writeEnd(outcome);
      written = ended.row;
      if (ended.outcome !== outcome) end = { kind: 'failed', messageId, ...unstorableEnd };
    } catch (error) {
      // Neither write landed (the database is out of reach): the stream still ends, and the
      // counters are charged what was used although no usage event records it yet. The FAILED
      // end (with its usage event) is written once the database answers again.
      logger.error('could not write the end of a generation', { messageId, error });
      retryEnd(unstorable(outcome));
      const charge = charged ? { ...charged, costNanos } : NOTHING;
      metrics?.generationEnded({
        provider,
        model: model ?? job.request.model ?? null,
        usage: charged,
        costNanos,
        durationMs: latencyMs,
        ttftMs: upstreamTtftMs,
        chunks,
        errorCode: UNSTORABLE.errorCode,
      });
      await job.admission.settle(charge);
      finished(null);
      await endStream({ kind: 'failed', messageId, ...unstorableEnd });
      return;
    }
    // Tokens and cost as recorded, like the charge below.
    metrics?.generationEnded({
      provider,
      model: model ?? job.request.model ?? null,
      usage: written ? charged : null,
      costNanos: written ? costNanos : null,
      durationMs: latencyMs,
      ttftMs: upstreamTtftMs,
      chunks,
      errorCode: written?.errorCode ?? failure?.code ?? null,
    });
    // Charged only as recorded: the ledger a budget is rebuilt from is the usage events.
    await job.admission.settle(written && charged ? { ...charged, costNanos } : NOTHING);
    finished(written);
    // Not written: the message was deleted or already ended by someone else, who ended the
    // shared stream; readers of this process's buffer get the same end.
    if (!written) {
      const stored = await db.message.findUnique({ where: { id: messageId } }).catch((error: unknown) => {
        logger.error('could not read a generation that ended elsewhere', { messageId, error });
        return undefined;
      });
      await endStream(
        stored === undefined
          ? { kind: 'failed', messageId, ...unstorableEnd }
          : stored
            ? endEventOf(stored)
            : deletedEvent(messageId),
      );
      return;
    }
    await endStream(end);
  }

  return {
    start(job) {
      const controller = new AbortController();
      store.begin(job.messageId);
      let resolve: (row: Message | null) => void = () => {};
      const finished = new Promise<Message | null>((r) => {
        resolve = r;
      });
      // Every subscriber gets one end, whatever run() could not do.
      let ended = false;
      const endStream = (end: MessageEnd) => {
        ended = true;
        return store.end(end);
      };
      const done = run(job, controller.signal, resolve, endStream)
        .catch(async (error) => {
          logger.error('could not finish a generation', { messageId: job.messageId, error });
          if (!ended) {
            await endStream({ kind: 'failed', messageId: job.messageId, ...unstorableEnd }).catch((error) =>
              logger.error('could not end the stream of a generation', { messageId: job.messageId, error }),
            );
          }
        })
        .finally(() => {
          void job.admission.settle(NOTHING); // when run() failed before settling: frees the slot
          resolve(null); // when run() failed before it got that far
          running.delete(job.messageId);
        });
      running.set(job.messageId, { controller, done });
      job.saved.then(
        (saved) => saved || controller.abort(new StopReason('CANCELLED', 'The message could not be saved')),
        () => controller.abort(new StopReason('CANCELLED', 'The message could not be saved')),
      );
      partials.start();
      return finished;
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
      // Ends still unwritten are left STREAMING: the next start's sweep ends them.
      for (const timer of unwritten) clearTimeout(timer);
      unwritten.clear();
      partials.stop();
    },
    async drain(deadline) {
      const ids = [...running.keys()];
      const finished = Promise.all([...running.values()].map((entry) => entry.done));
      await Promise.race([finished, aborted(deadline)]);
      await this.stop();
      return ids;
    },
  };
}

const NOTHING = { promptTokens: 0, completionTokens: 0, costNanos: 0 };

/** How a generation ends whose reply could not be stored as it was (masked errors' code). */
const UNSTORABLE = { errorCode: 'INTERNAL_SERVER_ERROR', error: 'The reply could not be stored' } as const;
const unstorableEnd = { code: UNSTORABLE.errorCode, error: UNSTORABLE.error };

/** Every heartbeat for about five minutes (by default), then the next start's sweep. */
const MAX_END_RETRIES = 60;

/** An end written again as FAILED: without what Postgres may have refused (tool calls, NUL). */
function unstorable(outcome: GenerationOutcome): GenerationOutcome {
  return {
    ...outcome,
    status: 'FAILED',
    content: withoutNul(outcome.content),
    provider: outcome.provider === null ? null : withoutNul(outcome.provider),
    model: outcome.model === null ? null : withoutNul(outcome.model),
    finishReason: outcome.finishReason === null ? null : withoutNul(outcome.finishReason),
    toolCalls: undefined,
    toolCitations: undefined,
    ...UNSTORABLE,
  };
}

/** U+0000 as U+FFFD: Postgres text (and jsonb) cannot hold NUL. */
const withoutNul = (text: string) => text.replaceAll('\u0000', '\uFFFD');

/** Usage when the provider reported none: its partial figures, else the gateway's own count. */
function counted(contextTokens: number, text: string, partial: Partial<TokenUsage> | undefined): TokenUsage {
  return {
    promptTokens: partial?.promptTokens ?? contextTokens,
    completionTokens: Math.max(partial?.completionTokens ?? 0, text === '' ? 0 : countTokens(text)),
  };
}

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
