import { badInput } from '../errors.js';
import type { ToolsInput } from './tool-input.js';

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
  }
  if (input.maxTokens != null && input.maxTokens <= 0) {
    throw badInput(`maxTokens must be a positive number, not ${input.maxTokens}`, { field: 'maxTokens' });
  }
}
