import type OpenAI from 'openai';
import type { ChatMessage } from '../types.js';

/** Our roles are a subset of OpenAI's, so the mapping is one to one. */
export function convertToOpenAIMessages(messages: ChatMessage[]): OpenAI.ChatCompletionMessageParam[] {
  return messages.map(({ role, content, toolCallId }): OpenAI.ChatCompletionMessageParam => {
    if (role === 'system') return { role, content };
    if (role === 'tool') return { role, content, tool_call_id: toolCallId ?? '' };
    if (role === 'assistant') return { role, content };
    return { role, content };
  });
}
