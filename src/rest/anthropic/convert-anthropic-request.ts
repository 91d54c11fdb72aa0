import { badInput } from '../../errors.js';
import type { ChatMessage, ImagePart, ToolChoice, ToolDefinition } from '../../providers/types.js';
import { type CountTokensBody, MAX_IMAGES, type MessageParam } from './anthropic-request.js';

/** What a Messages body asks for, in the provider-neutral contract. */
export interface ConvertedRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
}

/**
 * Anthropic's turns into the contract's messages: `system` first, a user turn's `tool_result`
 * blocks become `tool` messages (before its text, as Anthropic orders them), an assistant turn's
 * `tool_use` blocks its tool calls. Throws BAD_USER_INPUT for what a role cannot carry.
 */
export function convertAnthropicRequest(body: CountTokensBody): ConvertedRequest {
  const messages: ChatMessage[] = [];
  const system = typeof body.system === 'string' ? body.system : body.system?.map((b) => b.text).join('\n');
  if (system) messages.push({ role: 'system', content: system });
  let images = 0;
  body.messages.forEach((turn, index) => {
    const converted = convertTurn(turn, index);
    for (const message of converted) images += message.images?.length ?? 0;
    messages.push(...converted);
  });
  if (images > MAX_IMAGES) throw badInput(`messages: at most ${MAX_IMAGES} images in a request`);

  const converted: ConvertedRequest = { messages };
  if (body.tools && body.tools.length > 0) {
    converted.tools = body.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      parameters: tool.input_schema,
    }));
  }
  const choice = body.tool_choice;
  if (choice) {
    if (choice.type === 'tool' && !converted.tools?.some((t) => t.name === choice.name)) {
      throw badInput(`tool_choice.name: no tool named ${choice.name} in tools`);
    }
    if (choice.type !== 'none' && !converted.tools) throw badInput('tool_choice: needs tools');
    converted.toolChoice =
      choice.type === 'auto'
        ? 'auto'
        : choice.type === 'any'
          ? 'required'
          : choice.type === 'none'
            ? 'none'
            : { name: choice.name };
  }
  return converted;
}

function convertTurn(turn: MessageParam, index: number): ChatMessage[] {
  if (typeof turn.content === 'string') return [{ role: turn.role, content: turn.content }];
  const where = `messages.${index}.content`;
  const texts: string[] = [];
  const images: ImagePart[] = [];
  const toolCalls: NonNullable<ChatMessage['toolCalls']> = [];
  const results: ChatMessage[] = [];
  for (const block of turn.content) {
    switch (block.type) {
      case 'text':
        texts.push(block.text);
        break;
      case 'image':
        if (turn.role !== 'user') throw badInput(`${where}: images are only taken in user turns`);
        images.push(
          block.source.type === 'url'
            ? { url: block.source.url }
            : {
                url: `data:${block.source.media_type};base64,${block.source.data}`,
                mediaType: block.source.media_type,
              },
        );
        break;
      case 'tool_use':
        if (turn.role !== 'assistant') throw badInput(`${where}: tool_use blocks belong in assistant turns`);
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
        break;
      case 'tool_result': {
        if (turn.role !== 'user') throw badInput(`${where}: tool_result blocks belong in user turns`);
        const output =
          typeof block.content === 'string' ? block.content : (block.content ?? []).map((b) => b.text).join('\n');
        // The contract has no error flag on a tool message: the model reads it in the text.
        results.push({
          role: 'tool',
          toolCallId: block.tool_use_id,
          content: block.is_error ? `Error: ${output}` : output,
        });
        break;
      }
    }
  }
  const message: ChatMessage = { role: turn.role, content: texts.join('\n') };
  if (images.length > 0) message.images = images;
  if (toolCalls.length > 0) message.toolCalls = toolCalls;
  const rest = message.content !== '' || images.length > 0 || toolCalls.length > 0 || results.length === 0;
  return rest ? [...results, message] : results;
}
