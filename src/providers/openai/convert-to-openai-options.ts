import type OpenAI from 'openai';
import type { ChatRequest } from '../types.js';

type Options = Pick<OpenAI.ChatCompletionCreateParamsStreaming, 'tools' | 'tool_choice' | 'response_format' | 'stop'>;

/** Tools, tool choice, response format and stop in OpenAI's shapes; absent fields stay absent. */
export function convertToOpenAIOptions(request: ChatRequest): Options {
  const options: Options = {};
  if (request.tools?.length) {
    options.tools = request.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description !== undefined && { description: tool.description }),
        parameters: tool.parameters,
      },
    }));
  }
  const choice = request.toolChoice;
  if (choice !== undefined) {
    options.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  }
  const format = request.responseFormat;
  if (format?.type === 'json-object') options.response_format = { type: 'json_object' };
  else if (format?.type === 'json-schema') {
    options.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.strict !== undefined && { strict: format.strict }),
      },
    };
  }
  if (request.stop?.length) options.stop = request.stop;
  return options;
}
