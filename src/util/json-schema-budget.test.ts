import { describe, expect, it } from 'vitest';
import { MAX_EXPANDED_NODES, patternProgram, schemaBudgetProblem } from './json-schema-budget.js';

/** d_i = allOf [ref d_(i-1), ref d_(i-1)]: 2^n checks of one value at level n. */
function doublingChain(levels: number) {
  const definitions: Record<string, unknown> = { d0: { type: 'object' } };
  for (let i = 1; i <= levels; i++) {
    const below = { $ref: `#/definitions/d${i - 1}` };
    definitions[`d${i}`] = { allOf: [below, below] };
  }
  return { definitions, $ref: `#/definitions/d${levels}` };
}

const stringWith = (pattern: string) => ({ type: 'string', pattern });
const TREE = {
  type: 'object',
  properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
  required: ['name'],
};
/** Any JSON value: the usual recursive schema, object and array branches side by side. */
const JSON_VALUE = {
  $defs: {
    value: {
      anyOf: [
        { type: ['string', 'number', 'boolean', 'null'] },
        { type: 'object', additionalProperties: { $ref: '#/$defs/value' } },
        { type: 'array', items: { $ref: '#/$defs/value' } },
      ],
    },
  },
  $ref: '#/$defs/value',
};

describe('schemaBudgetProblem refuses schemas whose checks are unbounded', () => {
  it.each([28, 30, 60])('an allOf chain doubling %i times (refused from the expansion, not by walking it)', (n) => {
    expect(schemaBudgetProblem(doublingChain(n))?.code).toBe('TOO_EXPANDED');
  });

  it('a pattern whose counted repetitions expand to a huge program', () => {
    const schema = { type: 'object', properties: { s: stringWith('[\\s\\S]{1000}'.repeat(30)) } };
    expect(schemaBudgetProblem(schema)).toMatchObject({ code: 'PATTERN_TOO_COSTLY' });
  });

  it('many patterns that are each just affordable, by their total', () => {
    const fields = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, stringWith(`[a-z]{900}${i}`)]));
    expect(schemaBudgetProblem({ type: 'object', properties: fields })).toMatchObject({ code: 'PATTERN_TOO_COSTLY' });
  });

  it('a patternProperties key as much as a pattern', () => {
    const schema = { type: 'object', patternProperties: { '(a{100}){100}': { type: 'string' } } };
    expect(schemaBudgetProblem(schema)?.code).toBe('PATTERN_TOO_COSTLY');
  });

  it.each([
    ['{"$ref": "#"}', { $ref: '#' }],
    [
      'a definition that refers to itself',
      { definitions: { a: { $ref: '#/definitions/a' } }, $ref: '#/definitions/a' },
    ],
    [
      'a loop through allOf',
      {
        definitions: { a: { allOf: [{ $ref: '#/definitions/b' }] }, b: { $ref: '#/definitions/a' } },
        $ref: '#/definitions/a',
      },
    ],
  ])('a $ref loop with nothing in between: %s', (_, schema) => {
    expect(schemaBudgetProblem(schema)?.code).toBe('REF_LOOP');
  });

  it.each([
    ['allOf', { type: 'object', allOf: [{ properties: { a: { $ref: '#' } } }, { properties: { a: { $ref: '#' } } }] }],
    [
      'properties and patternProperties',
      { type: 'object', properties: { a: { $ref: '#' } }, patternProperties: { '^a': { $ref: '#' } } },
    ],
  ])('recursion that doubles at each level of the reply (%s)', (_, schema) => {
    expect(schemaBudgetProblem(schema)?.code).toBe('TOO_DEEP_RECURSION');
  });

  it.each([
    ['an anchor', { $defs: { a: { $anchor: 'x', type: 'string' } }, $ref: '#x' }],
    ['another document', { $ref: 'https://example.com/schema.json' }],
    ['a pointer to nothing', { $ref: '#/definitions/missing' }],
  ])('a $ref this measure cannot follow: %s', (_, schema) => {
    expect(schemaBudgetProblem(schema)?.code).toBe('UNSUPPORTED_REF');
  });

  it('a nested $id (it moves the base that $refs resolve against)', () => {
    const schema = { properties: { a: { $id: 'https://evil.example/', definitions: {} } } };
    expect(schemaBudgetProblem(schema)?.code).toBe('UNSUPPORTED_REF');
  });
});

describe('schemaBudgetProblem accepts ordinary schemas', () => {
  it.each([
    [
      'a flat object',
      { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
    ],
    ['a recursive tree', TREE],
    ['any JSON value', JSON_VALUE],
    [
      'a recursive expression (left and right)',
      {
        $defs: {
          e: {
            anyOf: [
              { type: 'number' },
              { type: 'object', properties: { left: { $ref: '#/$defs/e' }, right: { $ref: '#/$defs/e' } } },
            ],
          },
        },
        $ref: '#/$defs/e',
      },
    ],
    [
      'a shared definition',
      {
        definitions: { addr: { type: 'object', properties: { street: { type: 'string' } } } },
        properties: { home: { $ref: '#/definitions/addr' }, work: { $ref: '#/definitions/addr' } },
      },
    ],
    [
      'the root $id in a $ref',
      {
        $id: 'https://example.com/p.json',
        definitions: { n: { type: 'string' } },
        properties: { a: { $ref: 'https://example.com/p.json#/definitions/n' } },
      },
    ],
    [
      'patterns',
      {
        type: 'object',
        properties: { slug: stringWith('^[a-z0-9-]{1,64}$'), phone: stringWith('^\\+?\\d{7,15}$') },
        patternProperties: { '^x-': {} },
      },
    ],
    ['a short doubling chain', doublingChain(10)],
    [
      'a $id-like property name and data holding $id',
      { properties: { $id: { type: 'string', default: 'a' } }, examples: [{ $id: 'x' }] },
    ],
    ['boolean schemas', { type: 'object', properties: { a: true, b: false }, additionalProperties: false }],
  ])('%s', (_, schema) => {
    expect(schemaBudgetProblem(schema)).toBeNull();
  });
});

describe('patternProgram', () => {
  it('counts a literal, class or escape as one and copies what a counted repetition repeats', () => {
    expect(patternProgram('abc')).toBe(3);
    expect(patternProgram('[a-z]{10}')).toBe(11);
    expect(patternProgram('(ab){3}')).toBeGreaterThanOrEqual(9);
    expect(patternProgram('(a{100}){100}')).toBeGreaterThan(MAX_EXPANDED_NODES);
    expect(patternProgram('\\p{Greek}{5}')).toBe(6);
  });
});
