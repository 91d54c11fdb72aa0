import type { Message } from 'ollama';
import type { ChatMessage } from '../types.js';

/** Ollama takes system, user and assistant turns as they are. */
export function convertToOllamaMessages(messages: ChatMessage[]): Message[] {
  return messages.map((message) => ({ role: message.role, content: message.content }));
}
