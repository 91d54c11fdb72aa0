import { describe, expect, it } from 'vitest';
import { gallopFitting, largestFitting } from './tokens.js';

/** `fits` for "n is at most `limit`", recording every n it is asked about. */
function upTo(limit: number) {
  const probes: number[] = [];
  const fits = (n: number) => {
    probes.push(n);
    return n <= limit;
  };
  return { fits, probes };
}

describe('largestFitting', () => {
  it('finds the largest n that fits, for every answer in the range', () => {
    for (let limit = 3; limit <= 20; limit++) expect(largestFitting(3, 20, upTo(limit).fits)).toBe(limit);
  });

  it('gives hi when everything fits and lo when only lo does', () => {
    expect(largestFitting(0, 1_000, () => true)).toBe(1_000);
    expect(largestFitting(7, 1_000, (n) => n === 7)).toBe(7);
    expect(largestFitting(5, 5, () => true)).toBe(5);
  });

  it('asks about log2 of the range', () => {
    const { fits, probes } = upTo(123_456);
    expect(largestFitting(0, 1_000_000, fits)).toBe(123_456);
    expect(probes.length).toBeLessThanOrEqual(Math.ceil(Math.log2(1_000_001)));
  });
});

describe('gallopFitting', () => {
  it('agrees with largestFitting for every answer and step', () => {
    for (const step of [1, 2, 3, 7, 100])
      for (let limit = 10; limit <= 60; limit++)
        expect({ step, limit, n: gallopFitting(10, 60, step, upTo(limit).fits) }).toEqual({ step, limit, n: limit });
  });

  it('never probes far past the answer: cutting a small piece off a huge text stays cheap', () => {
    for (const answer of [1, 5, 40, 333]) {
      const { fits, probes } = upTo(answer);
      expect(gallopFitting(0, 1_000_000, 4, fits)).toBe(answer);
      expect(Math.max(...probes)).toBeLessThanOrEqual(Math.max(4, 2 * answer));
      expect(probes.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(2 * answer + 4)) + 1);
    }
  });

  it('stops at hi when it fits', () => {
    const { fits, probes } = upTo(Number.POSITIVE_INFINITY);
    expect(gallopFitting(0, 50, 4, fits)).toBe(50);
    expect(probes).toEqual([4, 8, 16, 32, 50]);
  });

  it('returns a whole position when the step is fractional', () => {
    // positions index arrays (slice truncates): 3.5 "fits" as 3 does, 4 does not
    const fits = (n: number) => Math.trunc(n) <= 3;
    const n = gallopFitting(1, 4, 2.5, fits);
    expect(n).toBe(3);
  });
});
