import { setTimeout as delay } from 'node:timers/promises';
import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import type { EmbedOptions } from '../embeddings/index.js';
import { AppError, badInput, notFound } from '../errors.js';
import type { Conversation, Message } from '../generated/prisma/client.js';
import type { MemoryService } from '../memory/memory-service.js';
import type { Caller, UsagePolicy } from '../policy/usage-policy.js';
import { createPiiSession } from '../privacy/pii-session.js';
import { fitPrompt, type Router } from '../providers/router/index.js';
import { needsOf } from '../providers/router/request-needs.js';
import type { ChatMessage } from '../providers/types.js';
import type { DocumentService } from '../rag/document-service.js';
import { type MessageStreamEvent, type MessageStreamStore, StreamLagError } from '../stream-store/types.js';
import { abortableIterator } from '../util/abortable-iterator.js';
import { NO_LONGER_NEEDED } from '../util/no-longer-needed.js';
import { type BuiltinTool, builtinDefinitions, createBuiltinToolRunner } from './builtin-tools.js';
import { deletedEvent, isTerminal, terminalEventOf } from './chat-events.js';
import {
  allResults,
  clientCalls,
  historyMessages,
  readHistory,
  type StoredToolResult,
  withoutOrphanResults,
} from './chat-history.js';
import { type BuiltContext, buildContext } from './context-window.js';
import { titleFrom } from './conversation-title.js';
import type { DrainGate } from './drain-gate.js';
import type { GenerationRunner } from './generation-runner.js';
import { type Grounding, ground, groundingSections } from './grounding.js';
import { type ToolsInput, turnToolsOf } from './tool-input.js';
import { checkToolResults, insertContinuation, planContinuation } from './tool-results.js';
import { insertTurn, type NewTurn, type PriorMessage, planTurn, type TurnRows } from './turn-rows.js';
import { type SendMessageInput, validatePrior, validateSendInput } from './validate-input.js';

/**
 * The context with as many sources as fit: the user's message and the reply's reserve come
 * first, so sources are dropped from the lowest-ranked up rather than refusing the message.
 */
function fitGrounding(grounding: Grounding, contextFor: (preamble: string[]) => BuiltContext) {
  for (let count = grounding.sources.length; count > 0; count--) {
    try {
      const context = contextFor(groundingSections(grounding, count));
      return { context, citations: grounding.sources.slice(0, count) };
    } catch (error) {
      if (!AppError.isInstance(error) || error.code !== 'BAD_USER_INPUT') throw error;
    }
  }
  return { context: contextFor(groundingSections(grounding, 0)), citations: [] };
}

export interface ChatServiceDeps {
  db: Db;
  sql: SqlRunner;
  router: Router;
  store: MessageStreamStore;
  runner: GenerationRunner;
  /** Refuses new generations while the server drains, and counts readers for it. */
  gate: DrainGate;
  /** Asks whichever instance runs a generation to abort it. */
  requestCancel(messageId: string): Promise<void>;
  /** This process, written as the owner of the generations it starts. */
  instanceId: string;
  settings: ConfigFile['chat'];
  documents: DocumentService;
  memory: MemoryService;
  usage: UsagePolicy;
}

export type ChatService = ReturnType<typeof createChatService>;

/** What the caller's credential limits a turn to; required, so that no caller forgets it. */
export interface TurnOptions {
  /** The API key's models (see the router's model-access.ts); null: every model. */
  allowedModels: readonly string[] | null;
  /** Who the turn is charged to: its limits and budget admit it, its usage event names it. */
  caller: Caller;
  /** Receives the `x-ratelimit-*` headers once the turn is admitted (HTTP responses carry them). */
  onAdmitted?: ((headers: Record<string, string>) => void) | undefined;
  /** Told the tokens of the embeddings that ground the turn (documents, memories), as the provider reported them. */
  onEmbeddingUsage?: EmbedOptions['onUsage'];
}

/** A turn that answers a message's tool calls. */
interface Continuation {
  answered: Message;
  results: StoredToolResult[];
}

/** What a message that ends asking for tools keeps for its continuation (messages.turn_options). */
type StoredTurnOptions = ToolsInput & Pick<SendMessageInput, 'provider' | 'temperature' | 'maxTokens' | 'collection'>;

const storedTurnOptions = (input: SendMessageInput, builtinTools: BuiltinTool[]): StoredTurnOptions => ({
  tools: input.tools ?? null,
  toolChoice: input.toolChoice ?? null,
  builtinTools,
  responseFormat: input.responseFormat ?? null,
  provider: input.provider ?? null,
  temperature: input.temperature ?? null,
  maxTokens: input.maxTokens ?? null,
  collection: input.collection ?? null,
});

const NO_CHARGE = { promptTokens: 0, completionTokens: 0, costNanos: 0 };

/** How long a reader of a stream another instance started waits for that instance's rows. */
const ROW_WAIT_MS = 5_000;

/** How long `cancelMessage` waits for the generation to acknowledge before answering. */
const CANCEL_WAIT_MS = 10_000;

/** Conversations and their generations: what the chat mutations and subscriptions call. */
export function createChatService(deps: ChatServiceDeps) {
  const { db, sql, router, store, runner, settings } = deps;

  const findConversation = async (userId: string, id: string) => {
    const conversation = await db.conversation.findFirst({ where: { id, userId } });
    if (!conversation) throw notFound('Conversation', id);
    return conversation;
  };

  const findMessage = async (userId: string, id: string) => {
    const message = await db.message.findFirst({ where: { id, userId } });
    if (!message) throw notFound('Message', id);
    return message;
  };

  /**
   * Turns started here whose rows are still being written. Their first deltas may reach the
   * client before the rows do, and the id on them must already work for messageStream and cancel.
   */
  const unwritten = new Map<string, { userId: string; written: Promise<boolean> }>();
  const remember = (userId: string, rows: TurnRows, written: Promise<boolean>) => {
    const id = rows.assistantMessage.id;
    unwritten.set(id, { userId, written });
    const forget = () => unwritten.delete(id);
    written.then(forget, forget);
  };
  /**
   * `findMessage`, after the rows of a turn started for the same user are written: by this
   * process (it knows when), or by another one whose first deltas are already in the shared
   * stream (waited for while that stream runs, up to ROW_WAIT_MS).
   */
  const findStartedMessage = async (userId: string, id: string) => {
    const pending = unwritten.get(id);
    if (pending?.userId === userId) await pending.written.catch(() => false);
    try {
      return await findMessage(userId, id);
    } catch (error) {
      if (pending || !AppError.isInstance(error) || error.code !== 'NOT_FOUND') throw error;
      return waitForRowsElsewhere(userId, id, error);
    }
  };
  const waitForRowsElsewhere = async (userId: string, id: string, notFoundError: AppError) => {
    const streaming = async () => (store.streaming ? await store.streaming(id).catch(() => false) : false);
    const stored = () => db.message.findFirst({ where: { id, userId } });
    if (!(await streaming())) throw notFoundError;
    const deadline = performance.now() + ROW_WAIT_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      await delay(pause);
      const message = await stored();
      if (message) return message;
      if (performance.now() >= deadline || !(await streaming())) break;
    }
    // Ended (perhaps just after its rows landed), or its rows failed or took too long.
    const message = await stored();
    if (message) return message;
    throw notFoundError;
  };

  /**
   * Reads a message's events after `afterSeq` until its end (or the signal). Whatever happens to
   * the buffer, a reader that was not stopped ends with exactly one terminal event: if the buffer
   * ran out without one, the stored message answers.
   */
  async function* events(messageId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<MessageStreamEvent> {
    const leave = deps.gate.enter(messageId);
    // A reader left waiting on the buffer for `staleAfterMs` asks the database whether its message
    // ended: an end that never reached the shared buffer (its owner stopped during a Redis outage
    // and gave up the writes it held back) then comes from the stored message instead of never.
    // Time the subscriber spends with an event in hand does not count.
    const reading = new AbortController();
    const stopReading = () => reading.abort(NO_LONGER_NEEDED);
    signal.addEventListener('abort', stopReading, { once: true });
    let waiting = true;
    const idle = setTimeout(async function check() {
      const message = waiting ? await db.message.findUnique({ where: { id: messageId } }).catch(() => null) : null;
      if (waiting && message && isTerminal(message.status)) reading.abort();
      else if (!reading.signal.aborted) idle.refresh(); // the finally aborts before it clears the timer
    }, settings.staleAfterMs);
    idle.unref();
    try {
      for await (const event of store.read(messageId, afterSeq, reading.signal)) {
        waiting = false;
        yield event;
        if (event.kind !== 'delta') return;
        waiting = true;
        idle.refresh();
      }
      if (signal.aborted) return;
      const message = await db.message.findUnique({ where: { id: messageId } });
      if (message && isTerminal(message.status)) {
        yield terminalEventOf(message);
        return;
      }
      throw new AppError('PROVIDER_UNAVAILABLE', 'The stream ended before its message did; subscribe again to resume');
    } catch (error) {
      if (!(error instanceof StreamLagError)) throw error;
      throw new AppError('STREAM_LAGGED', `${error.message}; resume with afterSeq ${error.oldestSeq - 1}`, {
        resumeAfterSeq: error.oldestSeq - 1,
      });
    } finally {
      reading.abort(NO_LONGER_NEEDED);
      clearTimeout(idle);
      signal.removeEventListener('abort', stopReading);
      leave();
    }
  }

  /** Waits for a message's end event; gives up quietly when the signal fires or the buffer moved on. */
  const waitForEnd = async (messageId: string, afterSeq: number, signal: AbortSignal) => {
    try {
      for await (const event of store.read(messageId, afterSeq, signal)) if (event.kind !== 'delta') return;
    } catch (error) {
      if (!(error instanceof StreamLagError)) throw error;
    }
  };

  /**
   * Checks and plans a turn and starts its generation; the rows are being written meanwhile
   * (`written`: false when the conversation went away first, in which case nothing was written).
   * A `continuation` answers a message's tool calls instead of adding a user message.
   */
  async function begin(
    userId: string,
    input: SendMessageInput,
    options: TurnOptions,
    continuation?: Continuation,
    prior: readonly PriorMessage[] = [],
  ) {
    if (options.caller.userId !== userId) throw new Error('a turn is charged to its own user');
    deps.gate.assertOpen();
    const receivedAt = performance.now();
    const conversation = input.conversationId ? await findConversation(userId, input.conversationId) : null;
    const target = {
      model: input.model ?? conversation?.model ?? undefined,
      provider: input.provider ?? undefined,
    };
    const tools = turnToolsOf(input);
    const earlier = conversation ? await readHistory(db, conversation.id, continuation?.answered.createdAt) : [];
    earlier.push(...prior);
    let message: ChatMessage = { role: 'user', content: input.content };
    if (continuation) {
      // The answered calls and their results close the prompt; the last result stands as "the message".
      const answered = historyMessages({ ...continuation.answered, toolResults: continuation.results });
      message = answered.pop() as ChatMessage;
      earlier.push(...answered);
    }
    const requestTools = [...tools.tools, ...builtinDefinitions(tools.builtinTools)];
    // Resolved once: the prompt is budgeted to this plan and the generation streams with it.
    // A model the key may not use is FORBIDDEN here, before anything is written or sent upstream;
    // deployments that cannot take tools or JSON output are left out of it.
    const plan = router.plan({
      ...target,
      temperature: input.temperature ?? undefined,
      allowedModels: options.allowedModels,
      needs: needsOf({ messages: [...earlier, message], tools: requestTools, responseFormat: tools.responseFormat }),
    });
    if (!continuation) validateSendInput(input, settings);
    validatePrior(prior, settings);
    const reservedOutputTokens = input.maxTokens ?? settings.defaultReservedOutputTokens;
    const systemPrompt = input.systemPrompt ?? conversation?.systemPrompt ?? null;
    // `block` refuses before the query reaches an embedder, and again once sources joined the prompt.
    const pii = createPiiSession(await deps.usage.piiModeOf(options.caller));
    pii.check([{ role: 'system', content: systemPrompt ?? '' }, ...earlier, message], {
      tools: requestTools,
      responseFormat: tools.responseFormat,
    });
    const grounding = await ground(deps, {
      userId,
      query: input.content,
      useDocuments: Boolean(input.useDocuments) && !continuation,
      collection: input.collection,
      useMemory: Boolean(input.useMemory) && !continuation,
      onUsage: options.onEmbeddingUsage,
    });
    const contextFor = (preamble: string[]) =>
      buildContext({
        model: plan.budgetedFor.model,
        systemPrompt,
        preamble,
        history: earlier,
        message,
        tools: requestTools,
        contextWindow: plan.contextWindow,
        reservedOutputTokens,
      });
    const { context, citations } = fitGrounding(grounding, contextFor);
    if (grounding.sources.length > 0 || grounding.memories.length > 0) pii.check(context.messages);
    // Limits and budget, last of the checks and before anything is written or sent upstream.
    const admission = await deps.usage.admit({
      caller: options.caller,
      candidates: plan.groups.flatMap((group) =>
        group.deployments.map((d) => ({ kind: d.provider.kind, model: d.model, provider: d.provider.name })),
      ),
      promptTokens: context.tokens,
      maxOutputTokens: reservedOutputTokens,
    });
    try {
      // Checked again after the awaits above: a drain that began meanwhile no longer waits for new work.
      deps.gate.assertOpen();
    } catch (error) {
      await admission.settle(NO_CHARGE);
      throw error;
    }
    options.onAdmitted?.(admission.headers);

    const model = target.model ?? conversation?.model ?? router.defaultModel;
    const { rows, written } = continuation
      ? continueTurn(continuation, conversation as Conversation, { model, contextTokens: context.tokens })
      : newTurn(userId, input, conversation, { model, systemPrompt, contextTokens: context.tokens, citations, prior });
    remember(userId, rows, written);
    // The upstream call starts while the rows are written; it is dropped if they cannot be.
    const finished = runner.start({
      messageId: rows.assistantMessage.id,
      userId,
      receivedAt,
      saved: written,
      apiKeyId: options.caller.apiKeyId,
      contextTokens: context.tokens,
      admission,
      pii,
      request: {
        ...target,
        conversationId: rows.assistantMessage.conversationId,
        messages: withoutOrphanResults(context.messages),
        temperature: input.temperature ?? undefined,
        // Under a budget the reply is capped at what was reserved, so spend cannot pass the hold.
        maxTokens: input.maxTokens ?? (admission.budgeted ? reservedOutputTokens : undefined),
        plan: fitPrompt(plan, context.tokens + reservedOutputTokens),
        ...(requestTools.length > 0 ? { tools: requestTools } : {}),
        ...(tools.toolChoice ? { toolChoice: tools.toolChoice } : {}),
        ...(tools.responseFormat ? { responseFormat: tools.responseFormat } : {}),
      },
      outputCheck: tools.outputCheck,
      builtins:
        tools.builtinTools.length > 0
          ? createBuiltinToolRunner({ ...deps, userId, collection: input.collection, tools: tools.builtinTools })
          : undefined,
      firstToolCitation: citations.length + 1,
      turnOptions: storedTurnOptions(input, tools.builtinTools),
    });
    return { rows, written, finished };
  }

  function newTurn(
    userId: string,
    input: SendMessageInput,
    conversation: Conversation | null,
    fields: Pick<NewTurn, 'model' | 'systemPrompt' | 'contextTokens' | 'citations' | 'prior'>,
  ) {
    const turn: NewTurn = {
      ...fields,
      userId,
      conversation: conversation ?? undefined,
      // A new conversation is named after its first user message, as sendMessage names it.
      title: titleFrom(fields.prior?.find((m) => m.role === 'user')?.content ?? input.content),
      content: input.content,
      ownerId: deps.instanceId,
    };
    const rows = planTurn(turn);
    return { rows, written: insertTurn(sql, rows, conversation === null, turn) };
  }

  function continueTurn(
    { answered, results }: Continuation,
    conversation: Conversation,
    fields: { model: string; contextTokens: number },
  ) {
    const assistantMessage = planContinuation(answered, { ...fields, ownerId: deps.instanceId });
    const rows: TurnRows = {
      conversation: { ...conversation, updatedAt: assistantMessage.createdAt },
      // The turn's input is the answered message, now COMPLETE with its results.
      userMessage: {
        ...answered,
        status: 'COMPLETE',
        toolResults: results as never,
        updatedAt: assistantMessage.createdAt,
      },
      assistantMessage,
    };
    return { rows, written: insertContinuation(sql, answered, results, assistantMessage) };
  }

  const conversationGone = (input: SendMessageInput) => notFound('Conversation', input.conversationId as string);

  /**
   * A started turn's events as `chat` streams them: deltas at once, the terminal event once the
   * rows are written (so it always names a stored message), with the row this process wrote.
   */
  function follow(
    rows: TurnRows,
    written: Promise<boolean>,
    finished: Promise<Message | null>,
    gone: () => Error,
  ): AsyncIterableIterator<MessageStreamEvent> {
    written.catch(() => {}); // read below; a rejection here is not unhandled
    return abortableIterator((signal) =>
      (async function* () {
        for await (const event of events(rows.assistantMessage.id, 0, signal)) {
          if (event.kind === 'delta') {
            yield event;
            continue;
          }
          if (!(await written)) throw gone();
          // The row this process just wrote, when the end is its own: no need to read it back.
          const row = await finished;
          const same = row !== null && (row.status === 'COMPLETE') === (event.kind === 'completed');
          yield same ? { ...event, message: row } : event;
        }
      })(),
    );
  }

  /** A started turn's rows, its events, and a cancel of its local run that needs no stored row. */
  function followed(rows: TurnRows, written: Promise<boolean>, finished: Promise<Message | null>, gone: () => Error) {
    return {
      rows,
      events: follow(rows, written, finished, gone),
      cancel: () => runner.cancel(rows.assistantMessage.id),
    };
  }

  /** Starts the turn that answers a REQUIRES_ACTION message's tool calls, its rows written. */
  async function continuation(
    userId: string,
    messageId: string,
    results: readonly { toolCallId: string; content?: unknown }[],
    options: TurnOptions & { allowedBuiltins: readonly BuiltinTool[] },
  ) {
    const answered = await findMessage(userId, messageId);
    if (answered.status !== 'REQUIRES_ACTION') {
      throw badInput(`message ${messageId} is not waiting for tool results (its status is ${answered.status})`, {
        field: 'messageId',
      });
    }
    // The client answers its own calls; builtin calls of the same step were answered already.
    const stored = allResults(answered, checkToolResults(clientCalls(answered.toolCalls), results));
    const turn = (answered.turnOptions ?? {}) as StoredTurnOptions;
    const input: SendMessageInput = {
      ...turn,
      // Forcing a tool again would only ask for it again: the model decides now.
      toolChoice: null,
      builtinTools: (turn.builtinTools ?? []).filter((tool) => options.allowedBuiltins.includes(tool)),
      conversationId: answered.conversationId,
      content: '',
    };
    const started = await begin(userId, input, options, { answered, results: stored });
    if (!(await started.written)) throw badInput(`message ${messageId} was answered already`, { field: 'messageId' });
    return started;
  }

  return {
    /** Stores the user message and a STREAMING assistant message, starts generation, returns at once. */
    async send(userId: string, input: SendMessageInput, options: TurnOptions) {
      const { rows, written } = await begin(userId, input, options);
      if (!(await written)) throw conversationGone(input);
      return rows;
    },

    /**
     * `send` and `stream` in one: tokens flow as soon as the upstream sends them, while the rows
     * are still being written; the terminal event waits for them, so it always names a stored message.
     */
    async chat(
      userId: string,
      input: SendMessageInput,
      options: TurnOptions,
    ): Promise<AsyncIterableIterator<MessageStreamEvent>> {
      const { rows, written, finished } = await begin(userId, input, options);
      return follow(rows, written, finished, () => conversationGone(input));
    },

    /**
     * `chat` with the turn's rows at hand at once, and `prior` messages stored before the user's
     * (a REST request's earlier turns): the REST endpoints' stored calls (x-switchyard-conversation).
     * `cancel` stops the generation this process started, even before its rows are written.
     */
    async turn(userId: string, input: SendMessageInput, options: TurnOptions, prior: readonly PriorMessage[] = []) {
      const { rows, written, finished } = await begin(userId, input, options, undefined, prior);
      return followed(rows, written, finished, () => conversationGone(input));
    },

    /**
     * `submitToolResults` for the conversation's newest message, which must be waiting for them,
     * with the next message's events: a REST request that ends with tool results.
     */
    async answerToolCalls(
      userId: string,
      conversationId: string,
      results: readonly { toolCallId: string; content: string }[],
      options: TurnOptions & { allowedBuiltins: readonly BuiltinTool[] },
    ) {
      const conversation = await findConversation(userId, conversationId);
      const newest = await db.message.findFirst({
        where: { conversationId: conversation.id, userId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        select: { id: true, status: true },
      });
      if (newest?.status !== 'REQUIRES_ACTION') {
        throw badInput('tool results were sent, but no message of this conversation is waiting for them', {
          field: 'messages',
        });
      }
      const { rows, written, finished } = await continuation(userId, newest.id, results, options);
      return followed(rows, written, finished, () => notFound('Message', newest.id));
    },

    /**
     * Answers a REQUIRES_ACTION message's tool calls (each exactly once) and starts the next
     * assistant message with them, under the same checks, limits and budget as `send`.
     * `allowedBuiltins`: the builtin tools the caller's credential may still run.
     */
    async submitToolResults(
      userId: string,
      messageId: string,
      results: readonly { toolCallId: string; content?: unknown }[],
      options: TurnOptions & { allowedBuiltins: readonly BuiltinTool[] },
    ) {
      return (await continuation(userId, messageId, results, options)).rows;
    },

    /** Replays deltas after `afterSeq`, follows live, ends with one terminal event. */
    stream(userId: string, messageId: string, afterSeq: number): AsyncIterableIterator<MessageStreamEvent> {
      return abortableIterator((signal) =>
        (async function* () {
          const message = await findStartedMessage(userId, messageId);
          if (isTerminal(message.status)) {
            yield terminalEventOf(message);
            return;
          }
          yield* events(message.id, afterSeq, signal);
        })(),
      );
    },

    /** Aborts the generation wherever it runs; the partial text is kept with status CANCELLED. */
    async cancel(userId: string, messageId: string) {
      const message = await findStartedMessage(userId, messageId);
      if (isTerminal(message.status)) return message;
      if (!runner.cancel(message.id)) await deps.requestCancel(message.id);
      await waitForEnd(message.id, message.lastSeq, AbortSignal.timeout(CANCEL_WAIT_MS));
      return db.message.findUniqueOrThrow({ where: { id: message.id } });
    },

    /** Deletes a conversation with its messages, ending any generation still streaming in it. */
    async deleteConversation(userId: string, id: string) {
      const conversation = await findConversation(userId, id);
      const streaming = await db.message.findMany({
        where: { conversationId: conversation.id, status: 'STREAMING' },
        select: { id: true },
      });
      await db.conversation.delete({ where: { id: conversation.id } });
      for (const { id } of streaming) {
        if (!runner.cancel(id)) await deps.requestCancel(id);
        await store.end(deletedEvent(id));
      }
      return id;
    },
  };
}
