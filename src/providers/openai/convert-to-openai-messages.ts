import type OpenAI from 'openai';
import type { ChatMessage } from '../types.js';

/**
 * Our roles are a subset of OpenAI's. A user message with images becomes content parts (data: and
 * https: URLs alike go as `image_url`); an assistant's calls become `tool_calls`; a tool message
 * names the call it answers.
 */
export function convertToOpenAIMessages(messages: ChatMessage[]): OpenAI.ChatCompletionMessageParam[] {
  return messages.map((message): OpenAI.ChatCompletionMessageParam => {
    const { role, content } = message;
    if (role === 'system') return { role, content };
    if (role === 'tool') return { role, content, tool_call_id: message.toolCallId ?? '' };
    if (role === 'assistant') {
      if (!message.toolCalls?.length) return { role, content };
      return {
        role,
        content: content || null,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
    if (!message.images?.length) return { role, content };
    return {
      role,
      content: [
        ...(content ? [{ type: 'text' as const, text: content }] : []),
        ...message.images.map((image) => ({ type: 'image_url' as const, image_url: { url: image.url } })),
      ],
    };
  });
}
