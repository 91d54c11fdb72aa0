import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../util/seeded-random.js';
import { createMockProvider } from '../mock/index.js';
import { createBalancers, createDeploymentStats } from './balancing.js';
import type { Deployment } from './types.js';

const PICKS = 10_000;

function deployments(weights: number[]): Deployment[] {
  return weights.map((weight, i) => ({
    id: `p${i}/m`,
    provider: createMockProvider({ name: `p${i}` }),
    model: 'm',
    weight,
    limits: { contextWindow: 8_192, temperature: { min: 0, max: 2 } },
    capabilities: {
      embeddings: false,
      tools: false,
      images: false,
      imageUrls: false,
      jsonObject: false,
      jsonSchema: false,
    },
  }));
}

/** How often each deployment came first over PICKS orderings. */
function firstPicks(order: () => Deployment[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < PICKS; i++) {
    const first = order()[0]?.id ?? 'none';
    counts[first] = (counts[first] ?? 0) + 1;
  }
  return counts;
}

function setup(seed = 42) {
  const stats = createDeploymentStats();
  return { stats, balancers: createBalancers({ random: createSeededRandom(seed), stats }) };
}

describe('balancing strategies', () => {
  it('round-robin rotates the first deployment per group, exactly evenly', () => {
    const { balancers } = setup();
    const group = deployments([1, 1, 1]);
    expect(balancers['round-robin'].order(group, 'g').map((d) => d.id)).toEqual(['p0/m', 'p1/m', 'p2/m']);
    expect(balancers['round-robin'].order(group, 'g').map((d) => d.id)).toEqual(['p1/m', 'p2/m', 'p0/m']);
    expect(balancers['round-robin'].order(group, 'other')[0]?.id).toBe('p0/m');
    const counts = firstPicks(() => balancers['round-robin'].order(group, 'even'));
    expect(Object.values(counts).sort()).toEqual([3333, 3333, 3334]);
  });

  it('weighted picks in proportion to weight (within 2 points) and orders every deployment', () => {
    const { balancers } = setup();
    const group = deployments([2, 1, 1]);
    const counts = firstPicks(() => balancers.weighted.order(group, 'g'));
    expect((counts['p0/m'] ?? 0) / PICKS).toBeCloseTo(0.5, 1);
    expect(Math.abs((counts['p0/m'] ?? 0) / PICKS - 0.5)).toBeLessThan(0.02);
    expect(Math.abs((counts['p1/m'] ?? 0) / PICKS - 0.25)).toBeLessThan(0.02);
    expect(Math.abs((counts['p2/m'] ?? 0) / PICKS - 0.25)).toBeLessThan(0.02);
    expect(new Set(balancers.weighted.order(group, 'g').map((d) => d.id)).size).toBe(3);
  });

  it('weighted is reproducible with the same seed', () => {
    const group = deployments([3, 1]);
    const a = setup(7).balancers.weighted;
    const b = setup(7).balancers.weighted;
    const run = (w: typeof a) => Array.from({ length: 50 }, () => w.order(group, 'g')[0]?.id);
    expect(run(a)).toEqual(run(b));
  });

  it('least-busy prefers the fewest in flight and spreads ties evenly', () => {
    const { balancers, stats } = setup();
    const group = deployments([1, 1, 1]);
    stats.begin('p0/m');
    stats.begin('p0/m');
    stats.begin('p2/m');
    expect(balancers['least-busy'].order(group, 'g').map((d) => d.id)).toEqual(['p1/m', 'p2/m', 'p0/m']);
    stats.end('p0/m');
    stats.end('p0/m');
    stats.end('p2/m');
    const counts = firstPicks(() => balancers['least-busy'].order(group, 'g'));
    for (const id of ['p0/m', 'p1/m', 'p2/m']) expect(Math.abs((counts[id] ?? 0) / PICKS - 1 / 3)).toBeLessThan(0.02);
  });

  it('lowest-latency prefers the lowest moving average of time to first token, unmeasured first', () => {
    const { balancers, stats } = setup();
    const group = deployments([1, 1, 1]);
    stats.recordTtft('p0/m', 300);
    stats.recordTtft('p1/m', 100);
    expect(balancers['lowest-latency'].order(group, 'g').map((d) => d.id)).toEqual(['p2/m', 'p1/m', 'p0/m']);
    stats.recordTtft('p2/m', 200);
    expect(firstPicks(() => balancers['lowest-latency'].order(group, 'g'))).toEqual({ 'p1/m': PICKS });
    // The average moves with new samples: p1 slows down.
    for (let i = 0; i < 10; i++) stats.recordTtft('p1/m', 1_000);
    expect(balancers['lowest-latency'].order(group, 'g')[0]?.id).toBe('p2/m');
    expect(stats.get('p1/m').ttftEwmaMs).toBeGreaterThan(900);
  });
});
