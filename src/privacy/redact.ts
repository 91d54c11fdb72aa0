import { detectPii, PII_KINDS, type PiiKind } from './pii-detector.js';

/**
 * `text` with every detected value replaced by its kind (`[EMAIL]`, `[CARD]`...): for logs and
 * spans, where nothing needs restoring, so no vault is kept. Linear in the text, as the detector is.
 *
 * @example redactForTelemetry('mail jane@example.com') // 'mail [EMAIL]'
 */
export function redactForTelemetry(text: string, kinds?: ReadonlySet<PiiKind>): string {
  const matches = detectPii(text, kinds);
  if (matches.length === 0) return text;
  let out = '';
  let at = 0;
  for (const match of matches) {
    out += `${text.slice(at, match.start)}[${match.kind}]`;
    at = match.end;
  }
  return out + text.slice(at);
}

/**
 * What log lines are scanned for: every kind but IP addresses, which the gateway logs of its own
 * infrastructure (the address it listens on, a database that refused a connection).
 */
export const LOGGED_KINDS: ReadonlySet<PiiKind> = new Set(PII_KINDS.filter((kind) => kind !== 'IP'));

/** How deep `redactFields` follows nested objects and arrays (log fields are shallow). */
const MAX_DEPTH = 4;

/**
 * A log line's fields with every string redacted (LOGGED_KINDS), Errors as `{ name, message, stack }` (as
 * JSON.stringify would give `{}`), nested objects and arrays followed a few levels down.
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0) as Record<string, unknown>;
}

const redactLogged = (text: string) => redactForTelemetry(text, LOGGED_KINDS);

/** A log message redacted as its fields are. */
export const redactLogMessage = redactLogged;

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactLogged(value);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactLogged(value.message),
      stack: value.stack === undefined ? undefined : redactLogged(value.stack),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, depth + 1);
  return out;
}
