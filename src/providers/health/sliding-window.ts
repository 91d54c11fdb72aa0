/** Time-stamped samples kept for `windowMs` and at most `maxSamples`, oldest dropped first. */
export interface SlidingWindow {
  add(value: number, at: number): void;
  values(now: number): number[];
  /** Running tallies over the window, without touching each sample: O(1) apart from expiry. */
  tally(now: number): WindowTally;
}

export interface WindowTally {
  count: number;
  sum: number;
  /** Samples above the window's `threshold`. */
  above: number;
}

/**
 * Recent samples only, so old failures stop weighing on a provider that has recovered. Tallies are
 * kept as samples come and go, because they are read on every call the router makes.
 */
export function createSlidingWindow(windowMs: number, maxSamples: number, threshold = Infinity): SlidingWindow {
  const values: number[] = [];
  const times: number[] = [];
  let head = 0; // index of the oldest live sample
  let sum = 0;
  let above = 0;
  const dropOldest = () => {
    const value = values[head] as number;
    sum -= value;
    if (value > threshold) above--;
    head++;
  };
  const compact = () => {
    if (head < 1_024 || head < values.length / 2) return;
    values.splice(0, head);
    times.splice(0, head);
    head = 0;
  };
  const expire = (now: number) => {
    while (head < values.length && now - (times[head] as number) > windowMs) dropOldest();
    compact();
  };
  return {
    add(value, at) {
      values.push(value);
      times.push(at);
      sum += value;
      if (value > threshold) above++;
      if (values.length - head > maxSamples) dropOldest();
      compact();
    },
    values(now) {
      expire(now);
      return values.slice(head);
    },
    tally(now) {
      expire(now);
      if (head === values.length) sum = 0; // no drift from float subtraction once empty
      return { count: values.length - head, sum, above };
    },
  };
}
