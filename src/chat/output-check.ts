import { Ajv } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';
import { badInput } from '../errors.js';
import { MAX_REPLY_DEPTH, schemaBudgetProblem } from '../util/json-schema-budget.js';

/** Why a reply does not match its response format; null when it does. */
export type OutputCheck = (text: string) => string | null;

/**
 * `check`'s verdict on `text`; a check that throws (ajv recursing on a schema the budget let
 * through) fails the reply too, rather than leaving its generation without an end.
 */
export function verdictOf(check: OutputCheck, text: string, onThrow: (error: unknown) => void): string | null {
  try {
    return check(text);
  } catch (error) {
    onThrow(error);
    return 'The reply could not be checked against the response format';
  }
}

const MAX_REASON_CHARS = 500;

/**
 * `pattern` and `patternProperties` come from the user and run against model output on the event
 * loop: RE2's automaton matches in time linear in the input, so no pattern can backtrack
 * catastrophically (`^(a+)+$`). Its syntax has no backreferences or lookaround; a pattern using
 * them does not compile, which is BAD_USER_INPUT like any invalid schema.
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    const compiled = RE2JS.compile(pattern);
    // ajv keys its compiled patterns by toString(): each pattern must name itself.
    return { test: (text: string) => compiled.test(text), toString: () => `/${pattern}/${flags}` };
  },
  { code: 'linearRegExp' },
);

/**
 * A check of a reply against a response format: JSON that parses to an object and, given a
 * schema, validates against it. The schema is compiled here, once per turn, by an Ajv of its own:
 * a user's schema (its `$id`s, its cache entry) never meets another user's.
 * A schema that does not compile, or whose cost is not bounded (json-schema-budget), is
 * BAD_USER_INPUT naming `field`. The check itself never throws: a reply it cannot judge fails it.
 */
export function compileOutputCheck(field?: string, schema?: Record<string, unknown>): OutputCheck {
  let validate: ((data: unknown) => boolean) & { errors?: unknown } = () => true;
  if (schema) {
    const problem = schemaBudgetProblem(schema);
    if (problem) throw badInput(`${field} is too costly to check: ${problem.message}`, { field, reason: problem.code });
    // strict stays off: strict mode tests patternProperties against property names with new RegExp.
    const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false, code: { regExp: linearRegExp } });
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
      // The budget's bound on checks holds for replies up to this depth; ajv recurses per level.
      if (deeperThan(parsed, MAX_REPLY_DEPTH)) return `The reply is nested deeper than ${MAX_REPLY_DEPTH} levels`;
      try {
        return validate(parsed)
          ? null
          : `The reply does not match the schema: ${ajvErrors().slice(0, MAX_REASON_CHARS)}`;
      } catch (error) {
        // A stack overflow (RangeError) or anything else ajv throws is a reply we could not accept.
        return `The reply could not be checked against the schema: ${error instanceof Error ? error.name : 'error'}`;
      }
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

/** Whether `value` nests objects or arrays deeper than `max`; iterative, so a 20,000-deep reply cannot overflow it. */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
