import type Anthropic from '@anthropic-ai/sdk';
import type { ChatRequest } from '../types.js';

/** The forced tool that carries a JSON reply; its input is the reply, streamed as text. */
export const JSON_TOOL_NAME = 'json';

type Options = Pick<Anthropic.MessageCreateParamsStreaming, 'tools' | 'tool_choice' | 'stop_sequences'>;

/**
 * Tools, tool choice and stop sequences in Anthropic's shapes. A JSON reply is asked for with a
 * forced tool whose input schema is the wanted one (an open object for json-object); with tools of
 * the caller's beside it, the model must call one of them or that tool.
 */
export function convertToAnthropicOptions(request: ChatRequest): Options {
  const options: Options = {};
  const tools: Anthropic.Tool[] = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: { type: 'object', ...tool.parameters },
  }));
  const jsonSchema = jsonToolSchema(request);
  if (jsonSchema) {
    tools.push({ name: JSON_TOOL_NAME, description: 'Respond with a JSON object.', input_schema: jsonSchema });
    options.tool_choice = tools.length === 1 ? { type: 'tool', name: JSON_TOOL_NAME } : { type: 'any' };
  } else if (request.toolChoice !== undefined && tools.length > 0) {
    options.tool_choice = toolChoice(request.toolChoice);
  }
  if (tools.length > 0) options.tools = tools;
  if (request.stop?.length) options.stop_sequences = request.stop;
  return options;
}

/** The forced tool's input schema when the request wants JSON; undefined otherwise. */
export function jsonToolSchema(request: ChatRequest): Anthropic.Tool.InputSchema | undefined {
  const format = request.responseFormat;
  if (format?.type === 'json-schema') return { type: 'object', ...format.schema };
  if (format?.type === 'json-object') return { type: 'object', additionalProperties: true };
  return undefined;
}

function toolChoice(choice: NonNullable<ChatRequest['toolChoice']>): Anthropic.ToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}
