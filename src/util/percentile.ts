/**
 * Nearest-rank percentiles: the smallest sample with at least p% of the samples at or below it.
 * The one definition the health figures (TTFT p50/p95) and the benchmarks share.
 */

/** Index of the nearest-rank p-th percentile (p in 0..100) among `count` ascending samples; -1 when there are none. */
export function percentileIndex(count: number, p: number): number {
  if (count === 0) return -1;
  return Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1));
}

/**
 * The p-th percentile of samples already sorted ascending (sort once, read several percentiles);
 * undefined when there are none.
 *
 * @example percentile([1, 2, 3, 4], 50) // 2
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  return sorted[percentileIndex(sorted.length, p)];
}

/**
 * Whether the p-th percentile of `count` samples, `above` of which exceed a threshold, exceeds it
 * too: the same answer as percentile() compared with the threshold, from two running counts.
 */
export function percentileAbove(count: number, above: number, p: number): boolean {
  if (count === 0) return false;
  return above > count - 1 - percentileIndex(count, p);
}
