import type Anthropic from '@anthropic-ai/sdk';
import type { ChatMessage } from '../types.js';

export interface AnthropicPrompt {
  /** All system messages, joined: Anthropic takes the system prompt beside the messages. */
  system: string | undefined;
  messages: Anthropic.MessageParam[];
}

/** Moves system messages to `system` and merges consecutive turns of one role, which the API expects to alternate. */
export function convertToAnthropicMessages(messages: ChatMessage[]): AnthropicPrompt {
  const system: string[] = [];
  const turns: Anthropic.MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(message.content);
      continue;
    }
    const role = message.role === 'tool' ? 'user' : message.role;
    const previous = turns.at(-1);
    if (previous?.role === role && typeof previous.content === 'string') {
      previous.content = `${previous.content}\n\n${message.content}`;
    } else {
      turns.push({ role, content: message.content });
    }
  }
  return { system: system.length > 0 ? system.join('\n\n') : undefined, messages: turns };
}
