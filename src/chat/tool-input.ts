import { badInput } from '../errors.js';
import type { ResponseFormat, ToolChoice, ToolDefinition } from '../providers/types.js';
import { BUILTIN_TOOL_NAMES, type BuiltinTool } from './builtin-tools.js';
import { compileOutputCheck, type OutputCheck } from './output-check.js';

/** Tools, choice and format as a turn receives them (GraphQL's shape, services' names). */
export interface ToolsInput {
  tools?: readonly { name: string; description?: string | null; parameters?: unknown }[] | null;
  /** `auto`, `none`, `required`, or a tool's name. */
  toolChoice?: string | null;
  builtinTools?: readonly BuiltinTool[] | null;
  responseFormat?: { type: 'TEXT' | 'JSON_OBJECT' | 'JSON_SCHEMA'; name?: string | null; schema?: unknown } | null;
}

/** What a turn asks of the model besides text, checked and ready for the router. */
export interface TurnTools {
  tools: ToolDefinition[];
  toolChoice: ToolChoice | undefined;
  builtinTools: BuiltinTool[];
  responseFormat: ResponseFormat | undefined;
  /** Checks the reply against `responseFormat` before it may be COMPLETE; undefined: plain text. */
  outputCheck: OutputCheck | undefined;
}

export const MAX_TOOLS = 32;
export const MAX_TOOL_DESCRIPTION_CHARS = 2_000;
/** Serialized, per schema (a tool's parameters or the response format's schema). */
export const MAX_SCHEMA_CHARS = 16 * 1024;
export const MAX_SCHEMA_DEPTH = 16;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Depth of nested objects and arrays, giving up past `max` (the value came from JSON: no cycles). */
function depthOf(value: unknown, max: number, depth = 0): number {
  if (depth > max || typeof value !== 'object' || value === null) return depth;
  let deepest = depth;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, max, depth + 1));
  return deepest;
}

/** A JSON Schema object within the size and depth limits that ajv compiles, with its check; else BAD_USER_INPUT. */
function checkedSchema(field: string, value: unknown): { schema: Record<string, unknown>; check: OutputCheck } {
  if (!isObject(value)) throw badInput(`${field} must be a JSON Schema object`, { field });
  const size = JSON.stringify(value).length;
  if (size > MAX_SCHEMA_CHARS) {
    throw badInput(`${field} is ${size} characters; at most ${MAX_SCHEMA_CHARS} are allowed`, { field });
  }
  if (depthOf(value, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH) {
    throw badInput(`${field} is nested deeper than ${MAX_SCHEMA_DEPTH} levels`, { field });
  }
  return { schema: value, check: compileOutputCheck(field, value) };
}

function toolChoiceOf(choice: string | null | undefined, names: Set<string>): ToolChoice | undefined {
  if (choice == null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') {
    if (choice === 'required' && names.size === 0)
      throw badInput('toolChoice required needs tools', { field: 'toolChoice' });
    return choice;
  }
  if (!names.has(choice)) {
    throw badInput(`toolChoice must be auto, none, required or the name of a tool given, not ${choice.slice(0, 80)}`, {
      field: 'toolChoice',
    });
  }
  return { name: choice };
}

/** Checks a turn's tools, choice and response format; every bound and name is enforced here. */
export function turnToolsOf(input: ToolsInput): TurnTools {
  const given = input.tools ?? [];
  if (given.length > MAX_TOOLS) throw badInput(`at most ${MAX_TOOLS} tools are allowed`, { field: 'tools' });
  const builtinTools = [...new Set(input.builtinTools ?? [])];
  const names = new Set<string>(builtinTools.map((tool) => BUILTIN_TOOL_NAMES[tool]));
  const tools = given.map((tool, i): ToolDefinition => {
    if (!TOOL_NAME.test(tool.name)) {
      throw badInput(`tools[${i}].name must match ^[a-zA-Z0-9_-]{1,64}$`, { field: 'tools' });
    }
    if (names.has(tool.name))
      throw badInput(`tool ${tool.name} is given twice (or is a builtin's name)`, { field: 'tools' });
    names.add(tool.name);
    if (tool.description != null && tool.description.length > MAX_TOOL_DESCRIPTION_CHARS) {
      throw badInput(`tools[${i}].description is longer than ${MAX_TOOL_DESCRIPTION_CHARS} characters`, {
        field: 'tools',
      });
    }
    return {
      name: tool.name,
      ...(tool.description != null ? { description: tool.description } : {}),
      parameters: checkedSchema(`tools[${i}].parameters`, tool.parameters).schema,
    };
  });
  const toolChoice = toolChoiceOf(input.toolChoice, names);
  const { responseFormat, outputCheck } = formatOf(input.responseFormat);
  return { tools, toolChoice, builtinTools, responseFormat, outputCheck };
}

function formatOf(format: ToolsInput['responseFormat']): Pick<TurnTools, 'responseFormat' | 'outputCheck'> {
  if (!format || format.type === 'TEXT') return { responseFormat: undefined, outputCheck: undefined };
  if (format.type === 'JSON_OBJECT')
    return { responseFormat: { type: 'json-object' }, outputCheck: compileOutputCheck() };
  const name = format.name ?? 'response';
  if (!TOOL_NAME.test(name))
    throw badInput('responseFormat.name must match ^[a-zA-Z0-9_-]{1,64}$', { field: 'responseFormat' });
  if (format.schema == null) throw badInput('responseFormat JSON_SCHEMA needs a schema', { field: 'responseFormat' });
  const { schema, check } = checkedSchema('responseFormat.schema', format.schema);
  return { responseFormat: { type: 'json-schema', name, schema }, outputCheck: check };
}
