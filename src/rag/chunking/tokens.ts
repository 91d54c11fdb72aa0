export { countTokens, createTokenCounter, type TokenCounter } from '../../util/count-tokens.js';

/**
 * The largest `n` in [lo, hi] for which `fits(n)` holds, assuming `fits` is monotone and
 * `fits(lo)` holds. Token counts of growing prefixes are monotone enough for cutting text.
 */
export function largestFitting(lo: number, hi: number, fits: (n: number) => boolean): number {
  let best = lo;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (fits(mid)) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/**
 * Like largestFitting over [lo, hi], but probing from `lo + step` and doubling, so that cutting a
 * small piece off a huge text never tokenizes much more than the piece (BPE on one long
 * unbroken word is slow).
 */
export function gallopFitting(lo: number, hi: number, step: number, fits: (n: number) => boolean): number {
  let below = lo;
  // a whole step: a fractional one would probe (and return) fractional positions
  let probe = Math.min(hi, lo + Math.max(1, Math.floor(step)));
  while (fits(probe)) {
    if (probe === hi) return hi;
    below = probe;
    probe = Math.min(hi, lo + (probe - lo) * 2);
  }
  return largestFitting(below, probe - 1, fits);
}
