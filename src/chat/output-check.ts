import { Ajv } from 'ajv';
import { badInput } from '../errors.js';

/** Why a reply does not match its response format; null when it does. */
export type OutputCheck = (text: string) => string | null;

const MAX_REASON_CHARS = 500;

/**
 * A check of a reply against a response format: JSON that parses to an object and, given a
 * schema, validates against it. The schema is compiled here, once per turn, by an Ajv of its own:
 * a user's schema (its `$id`s, its cache entry) never meets another user's.
 * A schema that does not compile is BAD_USER_INPUT naming `field`.
 */
export function compileOutputCheck(field?: string, schema?: Record<string, unknown>): OutputCheck {
  let validate: ((data: unknown) => boolean) & { errors?: unknown } = () => true;
  if (schema) {
    const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw badInput(`${field} is not a valid JSON Schema: ${reason.slice(0, MAX_REASON_CHARS)}`, { field });
    }
    const ajvErrors = () => ajv.errorsText(validate.errors as never, { dataVar: 'reply' });
    return (text) => {
      const parsed = parseObject(text);
      if (typeof parsed === 'string') return parsed;
      return validate(parsed) ? null : `The reply does not match the schema: ${ajvErrors().slice(0, MAX_REASON_CHARS)}`;
    };
  }
  return (text) => {
    const parsed = parseObject(text);
    return typeof parsed === 'string' ? parsed : null;
  };
}

/** The reply as a JSON object, or why it is not one. */
function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'The reply is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'The reply is not a JSON object';
  return value as Record<string, unknown>;
}
