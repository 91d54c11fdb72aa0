import type { ChatService } from '../chat/chat-service.js';
import type { Context } from '../context.js';
import { badInput } from '../errors.js';
import { messageFigures } from '../http/access-record.js';
import type {
  MessageCompleted,
  MessageDelta,
  MessageEnd,
  MessageFailed,
  MessageStreamEvent,
} from '../stream-store/types.js';
import { builder } from './builder.js';
import { ConversationRef } from './conversation.js';
import { clientId, encodeGlobalId, eventsWithClientId, withClientId } from './global-id.js';
import { MessageRef } from './message.js';
import { BuiltinToolEnum, MessageToolCallsRef, ResponseFormatInputRef, ToolInputRef } from './tool-types.js';

const SendMessageInputRef = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    conversationId: t.id({ description: 'Omitted: a new conversation is created.' }),
    content: t.string({ required: true }),
    model: t.string({
      description:
        'A model id such as gpt-4o-mini, claude-sonnet-4-5, llama3.2, a provider-qualified id such as ollama/llama3.2, or a configured alias. Omitted: the configured default.',
    }),
    provider: t.string({ description: 'Forces one provider (openai, anthropic, ollama, mock).' }),
    systemPrompt: t.string(),
    temperature: t.float(),
    maxTokens: t.int(),
    useDocuments: t.boolean({ description: "Retrieve from the viewer's documents and cite them." }),
    collection: t.string(),
    useMemory: t.boolean({ description: "Recall the viewer's memories into the prompt." }),
    tools: t.field({
      type: [ToolInputRef],
      description:
        'Tools the client runs itself: the stream ends with MessageToolCalls, and submitToolResults continues.',
    }),
    toolChoice: t.string({ description: "auto (default), none, required, or a tool's name." }),
    builtinTools: t.field({
      type: [BuiltinToolEnum],
      description: 'Tools the gateway runs itself, in a loop of at most a few steps, citing what they return.',
    }),
    responseFormat: t.field({ type: ResponseFormatInputRef }),
  }),
});

/** Chat, and the areas a message reaches into: refused before anything is written. */
const chatScopes = (
  _root: unknown,
  {
    input,
  }: { input: { useDocuments?: boolean | null; useMemory?: boolean | null; builtinTools?: readonly string[] | null } },
) => ({
  chat: true,
  ...(input.useDocuments || input.builtinTools?.includes('SEARCH_DOCUMENTS') ? { documents: true } : {}),
  ...(input.useMemory || input.builtinTools?.includes('RECALL_MEMORY') ? { memory: true } : {}),
});

type Payload = Awaited<ReturnType<ChatService['send']>>;

export const SendMessagePayload = builder.objectRef<Payload>('SendMessagePayload').implement({
  fields: (t) => ({
    conversation: t.field({ type: ConversationRef, resolve: (p) => p.conversation }),
    userMessage: t.field({ type: MessageRef, resolve: (p) => p.userMessage }),
    assistantMessage: t.field({ type: MessageRef, resolve: (p) => p.assistantMessage }),
  }),
});

/** The terminal event's finished row: the one it carries, or read now. */
const messageOf = (event: MessageEnd, ctx: Context) =>
  event.message ?? ctx.db.message.findUniqueOrThrow({ where: { id: event.messageId } });

const MessageDeltaRef = builder.objectRef<MessageDelta>('MessageDelta').implement({
  isTypeOf: (event) => (event as MessageStreamEvent).kind === 'delta',
  fields: (t) => ({
    messageId: t.id({ resolve: (e) => encodeGlobalId('Message', e.messageId) }),
    seq: t.exposeInt('seq', { description: '1, 2, 3 ... in order, no gaps, per message.' }),
    text: t.exposeString('text'),
  }),
});

const MessageCompletedRef = builder.objectRef<MessageCompleted>('MessageCompleted').implement({
  isTypeOf: (event) => (event as MessageStreamEvent).kind === 'completed',
  fields: (t) => ({
    message: t.field({ type: MessageRef, resolve: (e, _args, ctx) => messageOf(e, ctx) }),
  }),
});

const MessageFailedRef = builder.objectRef<MessageFailed>('MessageFailed').implement({
  description: 'Terminal event for status FAILED or CANCELLED.',
  isTypeOf: (event) => (event as MessageStreamEvent).kind === 'failed',
  fields: (t) => ({
    message: t.field({ type: MessageRef, resolve: (e, _args, ctx) => messageOf(e, ctx) }),
    code: t.exposeString('code', {
      description: 'Same codes as errors[].extensions.code, e.g. PROVIDER_UNAVAILABLE, UPSTREAM_ERROR, CANCELLED.',
    }),
    error: t.exposeString('error'),
  }),
});

/** The store's event type itself: what the generation wrote is what the subscriber resolves. */
const MessageStreamEventRef = builder.unionType('MessageStreamEvent', {
  types: [MessageDeltaRef, MessageCompletedRef, MessageFailedRef, MessageToolCallsRef],
});

/** What the viewer's credential puts on a turn: its models, who pays, where rate-limit figures go. */
export const turnOptions = (ctx: Context) => ({
  allowedModels: ctx.viewer.allowedModels,
  caller: ctx.viewer,
  onAdmitted: (headers: Record<string, string>) => {
    for (const [name, value] of Object.entries(headers)) ctx.responseHeaders?.set(name, value);
  },
  onEmbeddingUsage: ctx.embeddingUsed,
});

/** The conversation a message goes to, when the input names one. */
const conversationOf = (input: { conversationId?: string | number | null }) =>
  input.conversationId == null ? undefined : clientId(input.conversationId, 'Conversation');

builder.mutationFields((t) => ({
  sendMessage: t.field({
    type: SendMessagePayload,
    authScopes: chatScopes,
    description:
      "Persists the user's message, creates the assistant message (status STREAMING) and starts generation. Returns at once; tokens arrive on messageStream.",
    args: { input: t.arg({ type: SendMessageInputRef, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const conversation = conversationOf(input);
      return withClientId(
        conversation,
        ctx.services.chat.send(ctx.viewer.userId, { ...input, conversationId: conversation?.id }, turnOptions(ctx)),
      );
    },
  }),
  cancelMessage: t.prismaField({
    type: 'Message',
    authScopes: { chat: true },
    description: 'Aborts generation upstream; the partial content is kept with status CANCELLED.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => {
      const message = clientId(args.id, 'Message');
      return withClientId(message, ctx.services.chat.cancel(ctx.viewer.userId, message.id));
    },
  }),
  deleteConversation: t.id({
    authScopes: { chat: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const conversation = clientId(args.id, 'Conversation');
      await withClientId(conversation, ctx.services.chat.deleteConversation(ctx.viewer.userId, conversation.id));
      return conversation.globalId;
    },
  }),
}));

builder.subscriptionFields((t) => ({
  chat: t.field({
    type: MessageStreamEventRef,
    authScopes: chatScopes,
    description: 'Starts a generation like sendMessage and streams it in the same operation.',
    args: { input: t.arg({ type: SendMessageInputRef, required: true }) },
    subscribe: async (_root, { input }, ctx) => {
      const conversation = conversationOf(input);
      const events = await withClientId(
        conversation,
        ctx.services.chat.chat(ctx.viewer.userId, { ...input, conversationId: conversation?.id }, turnOptions(ctx)),
      );
      return eventsWithClientId(conversation, events);
    },
    resolve: (event: MessageStreamEvent, _args, ctx) =>
      event.kind === 'delta' ? countedDelta(event, ctx) : endedHere(event, ctx),
  }),
  messageStream: t.field({
    type: MessageStreamEventRef,
    authScopes: { chat: true },
    description:
      'Attaches to a generation: replays every delta with seq > afterSeq, then the live tail, then one terminal event. After the end it yields the terminal event at once.',
    args: { messageId: t.arg.id({ required: true }), afterSeq: t.arg.int() },
    subscribe: (_root, args, ctx) => {
      if (args.afterSeq != null && args.afterSeq < 0) throw badInput('afterSeq must be 0 or more');
      const message = clientId(args.messageId, 'Message');
      return eventsWithClientId(message, ctx.services.chat.stream(ctx.viewer.userId, message.id, args.afterSeq ?? 0));
    },
    resolve: (event: MessageStreamEvent, _args, ctx) => countedDelta(event, ctx),
  }),
}));

/**
 * The terminal event of a generation this operation started (`chat`): the operation's observer
 * (the access log, when on) is told its finished row's usage, cost and error code, and the row
 * stays on the event for the `message` field.
 */
async function endedHere(event: MessageEnd, ctx: Context): Promise<MessageEnd> {
  if (!ctx.generationEnded) return event;
  const message = event.message ?? (await ctx.db.message.findUnique({ where: { id: event.messageId } }));
  ctx.generationEnded(messageFigures(event, message));
  return message ? { ...event, message } : event;
}

/** Tells the operation's observer of each delta it sends (metrics by transport). */
function countedDelta(event: MessageStreamEvent, ctx: Context): MessageStreamEvent {
  if (event.kind === 'delta') ctx.deltaSent?.();
  return event;
}
