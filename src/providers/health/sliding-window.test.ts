import { describe, expect, it } from 'vitest';
import { createSlidingWindow } from './sliding-window.js';

describe('sliding window', () => {
  it('keeps its tallies equal to the samples it holds as they expire and overflow', () => {
    const window = createSlidingWindow(1_000, 50, 10);
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let at = 0; at < 5_000; at += 3) {
      window.add(Math.round(random() * 20), at);
      if (at % 30 !== 0) continue;
      const values = window.values(at);
      expect(window.tally(at)).toEqual({
        count: values.length,
        sum: values.reduce((a, b) => a + b, 0),
        above: values.filter((v) => v > 10).length,
      });
      expect(values.length).toBeLessThanOrEqual(50);
    }
    // Nothing added for longer than the window: everything has expired.
    expect(window.tally(10_000)).toEqual({ count: 0, sum: 0, above: 0 });
    expect(window.values(10_000)).toEqual([]);
  });

  it('drops samples older than the window but keeps those exactly at its edge', () => {
    const window = createSlidingWindow(100, 1_000);
    window.add(1, 0);
    window.add(2, 50);
    expect(window.values(100)).toEqual([1, 2]);
    expect(window.values(101)).toEqual([2]);
  });
});
