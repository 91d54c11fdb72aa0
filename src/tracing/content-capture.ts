import { detectPii } from '../privacy/pii-detector.js';

/** Prompt or reply text kept on one span attribute: past this it is cut (spans are not archives). */
export const MAX_CAPTURED_CHARS = 16_384;
const SCAN_MARGIN = 4_096;

/**
 * Text as it may appear in telemetry: every detected value (emails, phones, cards, IBANs, SSNs,
 * IPs, secrets) replaced by `[KIND]`, then cut at MAX_CAPTURED_CHARS.
 * TODO(#18): point at src/privacy's `redactForTelemetry` once it exists, so spans follow the PII policy.
 *
 * @example redactForTelemetry('mail ada@example.com') // 'mail [EMAIL]'
 */
export function redactForTelemetry(text: string): string {
  // Scanned past the cut, so that a value straddling it is still found whole (a PEM key is ~3 KB).
  const input = text.length > MAX_CAPTURED_CHARS + SCAN_MARGIN ? text.slice(0, MAX_CAPTURED_CHARS + SCAN_MARGIN) : text;
  const matches = detectPii(input);
  if (matches.length === 0) return input.slice(0, MAX_CAPTURED_CHARS);
  let out = '';
  let at = 0;
  for (const match of matches) {
    out += `${input.slice(at, match.start)}[${match.kind}]`;
    at = match.end;
  }
  return (out + input.slice(at)).slice(0, MAX_CAPTURED_CHARS);
}
