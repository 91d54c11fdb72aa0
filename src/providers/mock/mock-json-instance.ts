/** Past this depth a nested schema is answered with `null`: a schema is caller input, so the walk is bounded. */
const MAX_DEPTH = 8;

/**
 * The smallest value a JSON Schema accepts, as the mock answers with it: required properties only,
 * strings are `text` (the user's words), numbers 1, booleans true, arrays empty, enums and unions
 * their first choice, `const` itself. Deterministic, so tests can predict it.
 */
export function minimalInstance(schema: unknown, text: string, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return null;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const union = [s.anyOf, s.oneOf, s.allOf].find((list): list is unknown[] => Array.isArray(list) && list.length > 0);
  if (union) return minimalInstance(union[0], text, depth + 1);
  switch (typeOf(s)) {
    case 'string':
      return text;
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'null':
      return null;
    default: {
      const properties = (typeof s.properties === 'object' && s.properties) || {};
      const required = Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === 'string') : [];
      const value: Record<string, unknown> = {};
      for (const key of required) {
        value[key] = minimalInstance((properties as Record<string, unknown>)[key] ?? {}, text, depth + 1);
      }
      return value;
    }
  }
}

/** The schema's type; the first non-null one of a list; `object` when it has properties or says nothing. */
function typeOf(schema: Record<string, unknown>): string {
  const { type } = schema;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') ?? 'null';
  return 'object';
}
