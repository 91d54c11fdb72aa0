import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { compileOutputCheck, verdictOf } from './output-check.js';
import { turnToolsOf } from './tool-input.js';

/** 40 a's then a character that makes a backtracking engine try every split of them: 2^40 paths. */
const EVIL = `${'a'.repeat(40)}!`;

describe('a user schema’s patterns run in linear time', () => {
  it('checks `^(a+)+$` against 40 a’s and a "!" and answers (no catastrophic backtracking)', () => {
    const check = compileOutputCheck('responseFormat.schema', {
      type: 'object',
      properties: { name: { type: 'string', pattern: '^(a+)+$' } },
    });
    expect(check(JSON.stringify({ name: EVIL }))).toMatch(/does not match the schema: .*must match pattern/);
    expect(check(JSON.stringify({ name: 'a'.repeat(40) }))).toBeNull();
  });

  it('does the same for patternProperties, and a pattern still matches anywhere unless anchored', () => {
    const check = compileOutputCheck('responseFormat.schema', {
      type: 'object',
      patternProperties: { '^(a+)+$': { type: 'number' } },
      properties: { code: { type: 'string', pattern: '[0-9]{3}' } },
    });
    expect(check(JSON.stringify({ [EVIL]: 'not checked: the key does not match' }))).toBeNull();
    expect(check(JSON.stringify({ aaaa: 'x' }))).toMatch(/must be number/);
    expect(check(JSON.stringify({ code: 'id 123 ok' }))).toBeNull();
    expect(check(JSON.stringify({ code: 'none' }))).toMatch(/must match pattern/);
  });

  it('goes through the turn’s checks: a tool’s parameters and the response format', () => {
    const turn = turnToolsOf({
      tools: [{ name: 'lookup', parameters: { type: 'object', properties: { q: { pattern: '^(a|aa)+$' } } } }],
      responseFormat: {
        type: 'JSON_SCHEMA',
        name: 'out',
        schema: { type: 'object', properties: { q: { type: 'string', pattern: '^(a|aa)+$' } } },
      },
    });
    expect(turn.outputCheck?.(JSON.stringify({ q: EVIL }))).toMatch(/must match pattern/);
  });

  it('refuses a pattern RE2 cannot run (a backreference) as BAD_USER_INPUT naming the field', () => {
    let error: unknown;
    try {
      compileOutputCheck('tools[0].parameters', { type: 'string', pattern: '^(a)\\1$' });
    } catch (e) {
      error = e;
    }
    expect(AppError.isInstance(error) && error.code).toBe('BAD_USER_INPUT');
    expect((error as AppError).details).toMatchObject({ field: 'tools[0].parameters' });
  });
});

/** The AppError `run` throws (undefined when it does not). */
function thrownBy(run: () => unknown): AppError | undefined {
  try {
    run();
  } catch (error) {
    if (AppError.isInstance(error)) return error;
    throw error;
  }
  return undefined;
}

describe('a user schema’s cost is bounded before it is compiled', () => {
  const doubling = (levels: number) => {
    const definitions: Record<string, unknown> = { d0: { type: 'object' } };
    for (let i = 1; i <= levels; i++) {
      definitions[`d${i}`] = { allOf: [{ $ref: `#/definitions/d${i - 1}` }, { $ref: `#/definitions/d${i - 1}` }] };
    }
    return { definitions, $ref: `#/definitions/d${levels}` };
  };
  const manyPatterns = {
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`p${i}`, { type: 'string', pattern: '[\\s\\S]{1000}'.repeat(100) }]),
    ),
  };

  it.each([
    ['an allOf chain doubling 30 times', doubling(30)],
    [
      'a pattern of [\\s\\S]{1000} × 30',
      { type: 'object', properties: { s: { type: 'string', pattern: '[\\s\\S]{1000}'.repeat(30) } } },
    ],
    ['{"$ref": "#"}', { $ref: '#' }],
  ])('refuses %s as the response format: BAD_USER_INPUT naming the field', (_, schema) => {
    const error = thrownBy(() => turnToolsOf({ responseFormat: { type: 'JSON_SCHEMA', name: 'out', schema } }));
    expect(error?.code).toBe('BAD_USER_INPUT');
    expect(error?.details).toMatchObject({ field: 'responseFormat.schema' });
  });

  it('refuses a tool whose parameters hold 11 patterns of 100 × [\\s\\S]{1000}', () => {
    const error = thrownBy(() => turnToolsOf({ tools: [{ name: 'a', parameters: manyPatterns }] }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'tools[0].parameters' } });
  });

  it('still takes a recursive tree schema and checks replies against it', () => {
    const check = compileOutputCheck('responseFormat.schema', {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
      required: ['name'],
    });
    expect(check(JSON.stringify({ name: 'a', children: [{ name: 'b', children: [] }] }))).toBeNull();
    expect(check(JSON.stringify({ name: 'a', children: [{}] }))).toMatch(/must have required property 'name'/);
  });
});

describe('verdictOf', () => {
  it('passes a check’s verdict through, and turns a check that throws into a failed reply', () => {
    const thrown: unknown[] = [];
    const note = (error: unknown) => thrown.push(error);
    expect(verdictOf(() => null, '{}', note)).toBeNull();
    expect(verdictOf(() => 'no', '{}', note)).toBe('no');
    const overflow = new RangeError('Maximum call stack size exceeded');
    expect(
      verdictOf(
        () => {
          throw overflow;
        },
        '{}',
        note,
      ),
    ).toBe('The reply could not be checked against the response format');
    expect(thrown).toEqual([overflow]);
  });
});

describe('the output check never throws', () => {
  it('answers a 20,000-deep reply against a recursive schema with a reason (it overflowed the stack)', () => {
    const check = compileOutputCheck('responseFormat.schema', {
      type: 'object',
      properties: { c: { $ref: '#' } },
    });
    const deep = `${'{"c":'.repeat(20_000)}{}${'}'.repeat(20_000)}`;
    expect(check(deep)).toMatch(/nested deeper than 64 levels/);
    expect(check(`${'{"c":'.repeat(60)}{}${'}'.repeat(60)}`)).toBeNull();
  });
});
