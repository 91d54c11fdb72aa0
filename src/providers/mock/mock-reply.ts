import type { ChatMessage } from '../types.js';

/** The reply the mock gives: deterministic, derived from the last user message. */
export function mockReplyText(messages: readonly ChatMessage[]): string {
  const lastUser = messages.findLast((m) => m.role === 'user');
  const text = lastUser?.content.trim().replace(/\s+/g, ' ');
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
