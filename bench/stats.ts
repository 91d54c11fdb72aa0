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

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `1:200,100:2000`-style levels from an environment variable: `size` whole numbers per item. */
export function integerLevels(list: string | undefined, size: number): number[][] | undefined {
  return list
    ?.split(',')
    .filter(Boolean)
    .map((item) => {
      const numbers = item.split(':').map(Number);
      if (numbers.length !== size || !numbers.every(Number.isInteger)) throw new Error(`bad level ${item}`);
      return numbers;
    });
}
