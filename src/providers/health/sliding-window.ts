interface Sample {
  at: number;
  value: number;
}

/** Time-stamped samples kept for `windowMs` and at most `maxSamples`, oldest dropped first. */
export interface SlidingWindow {
  add(value: number, at: number): void;
  values(now: number): number[];
}

/** Recent samples only, so old failures stop weighing on a provider that has recovered. */
export function createSlidingWindow(windowMs: number, maxSamples: number): SlidingWindow {
  let samples: Sample[] = [];
  const prune = (now: number) => {
    const found = samples.findIndex((s) => now - s.at <= windowMs);
    const from = found < 0 ? samples.length : Math.max(found, samples.length - maxSamples);
    if (from > 0) samples = samples.slice(from);
  };
  return {
    add(value, at) {
      samples.push({ value, at });
      if (samples.length > maxSamples) prune(at);
    },
    values(now) {
      prune(now);
      return samples.map((s) => s.value);
    },
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

/** Whether the nearest-rank percentile of `values` is above `threshold`: the same answer as percentile(), without sorting. */
export function percentileAbove(values: readonly number[], p: number, threshold: number): boolean {
  if (values.length === 0) return false;
  const rank = Math.max(1, Math.ceil((p / 100) * values.length));
  let above = 0;
  for (const value of values) if (value > threshold) above++;
  return above > values.length - rank;
}
