import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { providerDefinitions } from '../src/providers/definitions.js';

const root = join(import.meta.dirname, '..');
const envExample = readFileSync(join(root, '.env.example'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

// Adding a provider is one folder and one line of code; its variables must still reach the docs.
describe('every provider kind is documented', () => {
  const variables = providerDefinitions.flatMap((d) =>
    Object.values(d.env).map((name) => ({ kind: d.kind, name: name as string })),
  );

  it('lists some variables at all', () => {
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['OPENAI_API_KEY', 'XAI_API_KEY']));
  });

  it.each(variables)('$kind: $name is in .env.example and in the README', ({ name }) => {
    expect(envExample).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    expect(readme).toContain(`\`${name}\``);
  });
});
