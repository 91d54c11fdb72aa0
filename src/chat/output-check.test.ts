import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { compileOutputCheck } from './output-check.js';
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
