import type { ChatMessage, ChatRequest, ToolCall } from '../types.js';
import { minimalInstance } from './mock-json-instance.js';

/**
 * What the mock answers, first rule that applies:
 * 1. the last message is a tool result: `tool results: <each trailing tool message's content, '; '-joined>`;
 * 2. tools offered, `toolChoice` not `none`, the last message from the user: one call of the named
 *    tool (`toolChoice: { name }`) or else the first, with the minimal instance of its parameters
 *    (see minimalInstance) as arguments, streamed in 2-3 pieces; finish `tool-calls`;
 * 3. `responseFormat` json-schema: the schema's minimal instance as JSON text; json-object:
 *    `{"echo":"<user text>"}`;
 * 4. images in the last user message: `echo: <text> [N image(s)]` (`1 image`, `2 images`);
 * 5. otherwise `Mock reply to: <last user message>`.
 * Text replies are cut before the first `stop` sequence.
 */
export type MockReply = { kind: 'text'; tokens: string[] } | { kind: 'tool-call'; call: ToolCall; pieces: string[] };

export function planMockReply(request: ChatRequest): MockReply {
  const { messages } = request;
  const last = messages.at(-1);
  const userText = lastUserText(messages);
  if (last?.role === 'tool') {
    const results = messages.slice(trailingToolStart(messages)).map((m) => m.content);
    return text(`tool results: ${results.join('; ')}`, request.stop);
  }
  const tools = request.tools ?? [];
  if (tools.length > 0 && request.toolChoice !== 'none' && last?.role === 'user') {
    const choice = request.toolChoice;
    const named = typeof choice === 'object' ? tools.find((t) => t.name === choice.name) : undefined;
    const tool = named ?? tools[0];
    if (tool) {
      const args = JSON.stringify(minimalInstance({ type: 'object', ...tool.parameters }, userText));
      const call = { id: `call_mock_${messages.length}`, name: tool.name, arguments: args };
      return { kind: 'tool-call', call, pieces: splitInPieces(args) };
    }
  }
  const format = request.responseFormat;
  if (format?.type === 'json-schema') {
    return { kind: 'text', tokens: splitInPieces(JSON.stringify(minimalInstance(format.schema, userText))) };
  }
  if (format?.type === 'json-object')
    return { kind: 'text', tokens: splitInPieces(JSON.stringify({ echo: userText })) };
  const images = messages.findLast((m) => m.role === 'user')?.images?.length ?? 0;
  if (images > 0) return text(`echo: ${userText} [${images} image${images === 1 ? '' : 's'}]`, request.stop);
  return text(mockReplyText(messages), request.stop);
}

/** The reply the mock gives: deterministic, derived from the last user message. */
export function mockReplyText(messages: readonly ChatMessage[]): string {
  const text = lastUserText(messages);
  return text ? `Mock reply to: ${text}` : 'Mock reply.';
}

/** Word tokens that concatenate back to `text`: the first bare, the rest with their leading space. */
export function splitIntoTokens(text: string): string[] {
  return text.split(' ').map((word, i) => (i === 0 ? word : ` ${word}`));
}

/** A rough token count (chars / 4, at least one per non-empty text), good enough for usage figures. */
export function approximateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

function lastUserText(messages: readonly ChatMessage[]): string {
  return (
    messages
      .findLast((m) => m.role === 'user')
      ?.content.trim()
      .replace(/\s+/g, ' ') ?? ''
  );
}

function text(reply: string, stop: string[] | undefined): MockReply {
  const cut = Math.min(...(stop ?? []).map((s) => (s ? reply.indexOf(s) : -1)).filter((at) => at >= 0));
  const kept = Number.isFinite(cut) ? reply.slice(0, cut) : reply;
  return { kind: 'text', tokens: kept ? splitIntoTokens(kept) : [] };
}

function trailingToolStart(messages: readonly ChatMessage[]): number {
  let start = messages.length;
  while (start > 0 && messages[start - 1]?.role === 'tool') start -= 1;
  return start;
}

/** Two or three pieces (one for a single character), as a model streams JSON. */
function splitInPieces(json: string): string[] {
  const size = Math.max(1, Math.ceil(json.length / 3));
  const pieces: string[] = [];
  for (let at = 0; at < json.length; at += size) pieces.push(json.slice(at, at + size));
  return pieces;
}
