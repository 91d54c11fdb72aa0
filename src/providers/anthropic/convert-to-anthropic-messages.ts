import type Anthropic from '@anthropic-ai/sdk';
import { inlineImage } from '../data-url.js';
import { parseToolArguments } from '../tool-arguments.js';
import type { ChatMessage, ImagePart } from '../types.js';

export interface AnthropicPrompt {
  /** All system messages, joined: Anthropic takes the system prompt beside the messages. */
  system: string | undefined;
  messages: Anthropic.MessageParam[];
}

type Content = Anthropic.MessageParam['content'];
type Block = Anthropic.ContentBlockParam;

/**
 * Moves system messages to `system` and merges consecutive turns of one role, which the API expects
 * to alternate: tool results are `tool_result` blocks of a user turn, so consecutive tool messages
 * (and a user message after them) share one. Plain text stays a string.
 */
export function convertToAnthropicMessages(messages: ChatMessage[]): AnthropicPrompt {
  const system: string[] = [];
  const turns: Anthropic.MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(message.content);
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const content = contentOf(message);
    const previous = turns.at(-1);
    if (previous?.role === role) previous.content = merge(previous.content, content);
    else turns.push({ role, content });
  }
  return { system: system.length > 0 ? system.join('\n\n') : undefined, messages: turns };
}

function contentOf(message: ChatMessage): Content {
  if (message.role === 'tool') {
    return [{ type: 'tool_result', tool_use_id: message.toolCallId ?? '', content: message.content }];
  }
  const images = message.role === 'user' ? (message.images ?? []) : [];
  const calls = message.role === 'assistant' ? (message.toolCalls ?? []) : [];
  if (images.length === 0 && calls.length === 0) return message.content;
  return [
    ...images.map(imageBlock),
    ...textBlocks(message.content),
    ...calls.map(
      (call): Block => ({ type: 'tool_use', id: call.id, name: call.name, input: parseToolArguments(call.arguments) }),
    ),
  ];
}

function imageBlock(image: ImagePart): Block {
  const inline = inlineImage(image);
  if (!inline) return { type: 'image', source: { type: 'url', url: image.url } };
  const media_type = inline.mediaType as Anthropic.Base64ImageSource['media_type'];
  return { type: 'image', source: { type: 'base64', media_type, data: inline.data } };
}

function textBlocks(text: string): Block[] {
  return text ? [{ type: 'text', text }] : [];
}

function merge(previous: Content, next: Content): Content {
  if (typeof previous === 'string' && typeof next === 'string') return `${previous}\n\n${next}`;
  const blocks = (content: Content): Block[] => (typeof content === 'string' ? textBlocks(content) : content);
  return [...blocks(previous), ...blocks(next)];
}
