import { messageTokens, REPLY_PRIMING_TOKENS, toolDefinitionTokens } from '../chat/token-count.js';
import type { ChatRequest } from '../providers/types.js';

/**
 * An image's prompt tokens as holds and limits count them: providers bill by pixels, up to about
 * 1,600 tokens for the largest image they take without scaling (Anthropic), less for OpenAI.
 */
export const IMAGE_TOKENS = 1_600;

/** A request's prompt as the gateway counts it: messages, tool calls and results, tool definitions, images. */
export function promptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    tokens += messageTokens(message);
    tokens += (message.images?.length ?? 0) * IMAGE_TOKENS;
  }
  return tokens + toolDefinitionTokens(request.tools);
}
