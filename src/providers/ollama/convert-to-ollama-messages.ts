import type { Message } from 'ollama';
import { inlineImage } from '../data-url.js';
import { parseToolArguments } from '../tool-arguments.js';
import type { ChatMessage } from '../types.js';

/**
 * Ollama takes roles as they are. Images go as base64 (the caller has refused remote ones), calls
 * with their arguments as objects, and a tool result names its tool (Ollama has no call ids).
 */
export function convertToOllamaMessages(messages: ChatMessage[]): Message[] {
  const toolNames = new Map<string, string>();
  return messages.map((message): Message => {
    const converted: Message = { role: message.role, content: message.content };
    const images = (message.images ?? []).flatMap((image) => inlineImage(image)?.data ?? []);
    if (images.length > 0) converted.images = images;
    if (message.toolCalls?.length) {
      converted.tool_calls = message.toolCalls.map((call) => {
        toolNames.set(call.id, call.name);
        return { function: { name: call.name, arguments: parseToolArguments(call.arguments) } };
      });
    }
    const toolName = message.toolCallId === undefined ? undefined : toolNames.get(message.toolCallId);
    if (message.role === 'tool' && toolName) converted.tool_name = toolName;
    return converted;
  });
}
