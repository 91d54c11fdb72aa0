import { describe, expect, it } from 'vitest';
import { percentile, percentileAbove, percentileIndex } from './percentile.js';

describe('percentile (nearest rank)', () => {
  it('picks the smallest sample with at least p% at or below it', () => {
    const sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 51)).toBe(60);
    expect(percentile(sorted, 95)).toBe(100);
    expect(percentile(sorted, 99)).toBe(100);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(10);
    expect(percentile([7], 99)).toBe(7);
  });

  it('is undefined without samples', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentileIndex(0, 50)).toBe(-1);
  });

  it('answers percentileAbove exactly as percentile() compared with the threshold', () => {
    for (const p of [50, 95, 99]) {
      for (let n = 1; n <= 60; n++) {
        for (let slow = 0; slow <= n; slow++) {
          const sorted = [...Array(n - slow).fill(100), ...Array(slow).fill(25_000)];
          expect(percentileAbove(n, slow, p)).toBe((percentile(sorted, p) ?? 0) > 1_000);
        }
      }
    }
    expect(percentileAbove(0, 0, 95)).toBe(false);
  });
});
