import type { Context } from '../context.js';
import type { Message } from '../generated/prisma/client.js';
import type { MessageStreamEvent, MessageToolCalls } from '../stream-store/types.js';
import { builder } from './builder.js';
import { MessageRef } from './message.js';

/** Tool and structured-output types of the chat input, and the tool calls a reply asks for. */

export const ToolInputRef = builder.inputType('ToolInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    parameters: t.field({ type: 'JSON', required: true, description: 'JSON Schema of the arguments.' }),
  }),
});

export const BuiltinToolEnum = builder.enumType('BuiltinTool', {
  values: ['SEARCH_DOCUMENTS', 'RECALL_MEMORY'] as const,
});

const ResponseFormatTypeEnum = builder.enumType('ResponseFormatType', {
  values: ['TEXT', 'JSON_OBJECT', 'JSON_SCHEMA'] as const,
});

export const ResponseFormatInputRef = builder.inputType('ResponseFormatInput', {
  fields: (t) => ({
    type: t.field({ type: ResponseFormatTypeEnum, required: true }),
    name: t.string(),
    schema: t.field({ type: 'JSON' }),
  }),
});

export const ToolResultInputRef = builder.inputType('ToolResultInput', {
  fields: (t) => ({
    toolCallId: t.string({ required: true }),
    content: t.field({ type: 'JSON', required: true, description: "The tool's output, as text or JSON." }),
  }),
});

interface StoredToolCall {
  id: string;
  name: string;
  arguments: string;
}

const ToolCallRef = builder.objectRef<StoredToolCall>('ToolCall').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    name: t.exposeString('name'),
    // As the model wrote it: JSON when it parses, else the text itself.
    arguments: t.field({ type: 'JSON', resolve: (call) => parseOrText(call.arguments) }),
  }),
});

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The calls the client is asked to run: builtin calls of the same step were run by the gateway. */
const callsOf = (message: Pick<Message, 'toolCalls'>) =>
  Array.isArray(message.toolCalls)
    ? (message.toolCalls as unknown as (StoredToolCall & { builtin?: boolean })[]).filter((call) => !call.builtin)
    : [];

builder.prismaObjectField('Message', 'toolCalls', (t) =>
  t.field({
    type: [ToolCallRef],
    select: { toolCalls: true },
    description: 'The tools this reply asked the client to run (empty for most messages).',
    resolve: callsOf,
  }),
);

const messageOf = (event: MessageToolCalls, ctx: Context) =>
  event.message ?? ctx.db.message.findUniqueOrThrow({ where: { id: event.messageId } });

export const MessageToolCallsRef = builder.objectRef<MessageToolCalls>('MessageToolCalls').implement({
  description: 'Terminal event: the model asked the client to run tools. The message has status REQUIRES_ACTION.',
  isTypeOf: (event) => (event as MessageStreamEvent).kind === 'tool-calls',
  fields: (t) => ({
    message: t.field({ type: MessageRef, resolve: (e, _args, ctx) => messageOf(e, ctx) }),
    toolCalls: t.field({ type: [ToolCallRef], resolve: async (e, _args, ctx) => callsOf(await messageOf(e, ctx)) }),
  }),
});
