/**
 * The `name` label of GraphQL operations stays bounded: a client sending 10,000 distinct operation
 * names to the real server adds at most MAX_OPERATION_NAMES series (the rest count as `other`).
 */
import { describe, expect, it } from 'vitest';
import { MAX_OPERATION_NAMES, operationNameLabels } from '../../src/metrics/operation-names.js';
import { scrapeMetrics, total } from '../helpers/prometheus.js';
import { wsClient } from '../helpers/subscribe.js';
import { startTestServer } from '../helpers/test-server.js';

describe('operation name labels', () => {
  it('keeps the first names, folds the rest, and never labels a long or odd name', () => {
    const label = operationNameLabels(2);
    expect([label(undefined), label(''), label('GetMe'), label('Send'), label('Third'), label('GetMe')]).toEqual([
      'anonymous',
      'anonymous',
      'GetMe',
      'Send',
      'other',
      'GetMe',
    ]);
    const fresh = operationNameLabels();
    expect(fresh('a'.repeat(64))).toBe('a'.repeat(64));
    expect(fresh('a'.repeat(65))).toBe('other');
    expect(fresh('9lives')).toBe('other');
  });

  it('adds at most 200 series for 10,000 distinct operation names sent to the server', async () => {
    const server = await startTestServer();
    const sent = 10_000;
    let next = 0;
    // Over one WebSocket (an HTTP request each would take a minute), 50 operations at a time.
    const ws = wsClient(server.wsUrl);
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < sent) {
          const i = next++;
          const result = await new Promise((resolve, reject) => {
            let data: unknown;
            ws.subscribe(
              { query: `query Attack_${i} { __typename }` },
              { next: (value) => (data = value.data), error: reject, complete: () => resolve(data) },
            );
          });
          expect(result).toEqual({ __typename: 'Query' });
        }
      }),
    );
    await ws.dispose();
    const samples = await scrapeMetrics(server.origin);
    const series = samples.filter((s) => s.name === 'switchyard_graphql_operations_total' && s.labels.type === 'query');
    const names = new Set(series.map((s) => s.labels.name));
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 1);
    expect(names.has('other')).toBe(true);
    // Every operation is still counted, under its own name or `other`.
    const attacks = series.filter((s) => s.labels.name?.startsWith('Attack_') || s.labels.name === 'other');
    expect(attacks.reduce((sum, s) => sum + s.value, 0)).toBe(sent);
    expect(total(samples, 'switchyard_graphql_operations_total', { name: 'other' })).toBe(sent - (names.size - 1));
    const text = await (await fetch(`${server.origin}/metrics`)).text();
    expect(text.split('\n').filter((line) => line.includes('Attack_')).length).toBeLessThan(20 * MAX_OPERATION_NAMES);
  }, 600_000); // 10,000 operations: a generous deadline for a loaded machine
});
