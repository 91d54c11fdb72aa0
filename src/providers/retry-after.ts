/** Anything with a `get` like the Fetch API's `Headers`. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/**
 * How long upstream asked us to wait, in milliseconds: `retry-after-ms` (OpenAI's precise header)
 * first, then `Retry-After` as seconds or as an HTTP date. `undefined` when absent or unreadable.
 *
 * @example parseRetryAfter(new Headers({ 'retry-after': '2' })) // 2000
 */
export function parseRetryAfter(headers: HeaderSource | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const msHeader = headers.get('retry-after-ms')?.trim();
  if (msHeader) {
    const ms = Number(msHeader);
    if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // HTTP dates name a month; V8's lenient Date.parse would otherwise read '-1' as a year
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
