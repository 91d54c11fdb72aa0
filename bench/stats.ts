import { percentile } from '../src/util/percentile.js';

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length);
  // NaN without samples: written to the results as null
  return {
    n: sorted.length,
    p50: percentile(sorted, 50) ?? Number.NaN,
    p99: percentile(sorted, 99) ?? Number.NaN,
    mean,
  };
}

/**
 * Runs `task` `total` times with at most `concurrency` in flight, returning each duration in ms.
 * No task starts after `deadline` (a `performance.now()` time), so a slow path stays bounded.
 */
export async function measure(
  total: number,
  concurrency: number,
  task: () => Promise<unknown>,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number[]> {
  const samples: number[] = [];
  let started = 0;
  const worker = async () => {
    while (started < total && performance.now() < deadline) {
      started++;
      const t0 = performance.now();
      await task();
      samples.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return samples;
}
