import type { ChatRequest as OllamaChatRequest, Tool } from 'ollama';
import type { ChatRequest } from '../types.js';

type Options = Pick<OllamaChatRequest, 'tools' | 'format'>;

/**
 * Tools and format in Ollama's shapes. Ollama has no tool choice: `none` sends no tools, a named
 * tool sends only that one, `required` cannot be forced and is sent as the tools alone.
 * `format` is `json` for a JSON object, or the schema itself.
 */
export function convertToOllamaOptions(request: ChatRequest): Options {
  const options: Options = {};
  const choice = request.toolChoice;
  const offered =
    choice === 'none'
      ? []
      : typeof choice === 'object'
        ? (request.tools ?? []).filter((tool) => tool.name === choice.name)
        : (request.tools ?? []);
  if (offered.length > 0) {
    options.tools = offered.map(
      (tool): Tool => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          parameters: tool.parameters as NonNullable<Tool['function']['parameters']>,
        },
      }),
    );
  }
  const format = request.responseFormat;
  if (format?.type === 'json-object') options.format = 'json';
  else if (format?.type === 'json-schema') options.format = format.schema;
  return options;
}
