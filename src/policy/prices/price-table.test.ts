import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anthropicPrices, openAIPrices, priceTable } from './price-table.js';
import type { ModelPrice } from './types.js';

/** The README's copy of the table: every row's model ids with the prices it shows. */
function readmeRows(): Map<string, ModelPrice> {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('### Shipped prices'),
    readme.indexOf('\n## ', readme.indexOf('### Shipped prices')),
  );
  const rows = new Map<string, ModelPrice>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const ids = [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    if (ids.length === 0) continue;
    const n = (cell: string | undefined) => (cell === undefined || cell === '-' ? undefined : Number(cell));
    const anthropic = cells.length === 7; // model, input, cache hits, cache writes, output
    const price = anthropic
      ? { input: n(cells[2]), cachedInput: n(cells[3]), cacheWrite: n(cells[4]), output: n(cells[5]) }
      : { input: n(cells[2]), cachedInput: n(cells[3]), output: n(cells[4]) ?? 0 };
    for (const id of ids) rows.set(id, JSON.parse(JSON.stringify(price)) as ModelPrice);
  }
  return rows;
}

describe('the shipped price table', () => {
  it('is copied into the README exactly, aliases aside', () => {
    const aliases = /-latest$|-4-0$/;
    const shown = readmeRows();
    const shipped = [...priceTable].filter(([id]) => !aliases.test(id));
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(shipped));
  });

  it('has sane prices: cache reads below input, cache writes above it, no id in both providers', () => {
    for (const [id, price] of priceTable) {
      expect({ id, ok: price.input >= 0 && price.output >= 0 }).toEqual({ id, ok: true });
      if (price.cachedInput !== undefined)
        expect({ id, below: price.cachedInput < price.input }).toEqual({ id, below: true });
      if (price.cacheWrite !== undefined)
        expect({ id, above: price.cacheWrite > price.input }).toEqual({ id, above: true });
    }
    const both = Object.keys(openAIPrices).filter((id) => id in anthropicPrices);
    expect(both).toEqual([]);
  });
});
