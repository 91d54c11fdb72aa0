import { describe, expect, it } from 'vitest';
import { createFeatureCounts } from '../../src/embeddings/feature-counts.js';

const entries = (counts: ReturnType<typeof createFeatureCounts>) => {
  const seen: [number, number][] = [];
  counts.forEach((hash, count) => {
    seen.push([hash, count]);
  });
  return seen;
};

describe('createFeatureCounts', () => {
  it('counts each hash in first-seen order, as signed 32-bit integers', () => {
    const counts = createFeatureCounts(4);
    for (const hash of [7, 0xffffffff, 7, 0, 0x80000000, 7]) counts.add(hash);
    expect(counts.size).toBe(4);
    expect(entries(counts)).toEqual([
      [7, 3],
      [-1, 1],
      [0, 1],
      [-0x80000000, 1],
    ]);
  });

  it('keeps counts and order as it grows, and forgets everything on clear', () => {
    const counts = createFeatureCounts(2);
    const hashes = Array.from({ length: 1000 }, (_, i) => Math.imul(i, 0x01000193));
    for (const hash of [...hashes, ...hashes.slice(0, 10)]) counts.add(hash);
    expect(entries(counts)).toEqual(hashes.map((hash, i) => [hash, i < 10 ? 2 : 1]));
    counts.clear();
    expect(counts.size).toBe(0);
    counts.add(5);
    expect(entries(counts)).toEqual([[5, 1]]);
  });
});
