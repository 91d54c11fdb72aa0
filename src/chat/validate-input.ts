import { badInput } from '../errors.js';
import type { ToolsInput } from './tool-input.js';
import type { PriorMessage } from './turn-rows.js';

/** Earlier messages one turn may store with it (a REST request's history). */
export const MAX_PRIOR_MESSAGES = 1_000;

export interface SendMessageInput extends ToolsInput {
  conversationId?: string | null;
  content: string;
  model?: string | null;
  provider?: string | null;
  systemPrompt?: string | null;
  temperature?: number | null;
  maxTokens?: number | null;
  useDocuments?: boolean | null;
  collection?: string | null;
  useMemory?: boolean | null;
}

/**
 * Rejects what no provider should be sent, with a message that says what is allowed. What depends
 * on the deployment (temperature, the context window) is checked by the route plan.
 */
export function validateSendInput(
  input: SendMessageInput,
  limits: { maxContentChars: number; maxSystemPromptChars: number },
): void {
  if (input.content.trim() === '') throw badInput('content must not be empty', { field: 'content' });
  // The GraphQL layer refuses these sizes first; this holds for any other caller of the service.
  const sized = [
    ['content', input.content, limits.maxContentChars],
    ['systemPrompt', input.systemPrompt, limits.maxSystemPromptChars],
  ] as const;
  for (const [field, text, max] of sized) {
    if (text != null && text.length > max) {
      throw badInput(`${field} is ${text.length} characters; at most ${max} are allowed`, { field, max });
    }
    if (text != null) assertNoNul(field, text);
  }
  // Kept on the message (its turn options) when the reply asks for tools.
  assertNoNul('tools', input.tools);
  assertNoNul('toolChoice', input.toolChoice);
  assertNoNul('responseFormat', input.responseFormat);
  if (input.maxTokens != null && input.maxTokens <= 0) {
    throw badInput(`maxTokens must be a positive number, not ${input.maxTokens}`, { field: 'maxTokens' });
  }
}

/** Earlier messages stored with a turn: each within the content limit, and not too many. */
export function validatePrior(prior: readonly PriorMessage[], limits: { maxContentChars: number }): void {
  if (prior.length > MAX_PRIOR_MESSAGES) {
    throw badInput(`at most ${MAX_PRIOR_MESSAGES} earlier messages can be stored with a turn`, { field: 'messages' });
  }
  prior.forEach((message, i) => {
    if (message.content.length > limits.maxContentChars) {
      throw badInput(
        `message ${i} is ${message.content.length} characters; at most ${limits.maxContentChars} are allowed`,
        { field: 'messages', max: limits.maxContentChars },
      );
    }
    assertNoNul('messages', message.content, `message ${i}`);
  });
}

/** Whether a text, or any string in a JSON value (keys too), holds U+0000. Iterative: values may nest deep. */
export function hasNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return true;
    } else if (Array.isArray(item)) {
      for (const child of item) pending.push(child);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\u0000')) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/**
 * Postgres text cannot hold U+0000: a value that would be stored with one is refused as
 * BAD_USER_INPUT naming `field`, before anything is written (the write would fail, a 500).
 */
export function assertNoNul(field: string, value: unknown, what = field): void {
  if (hasNul(value)) {
    throw badInput(`${what} contains a NUL character (U+0000), which cannot be stored`, { field });
  }
}
