import { redactForTelemetry as redact } from '../privacy/redact.js';

/** Prompt or reply text kept on one span attribute: past this it is cut (spans are not archives). */
export const MAX_CAPTURED_CHARS = 16_384;
const SCAN_MARGIN = 4_096;

/**
 * Text as it may appear on a span: src/privacy's redaction (every detected email, phone, card,
 * IBAN, SSN, IP and secret replaced by `[KIND]`), then cut at MAX_CAPTURED_CHARS.
 *
 * @example redactForTelemetry('mail ada@example.com') // 'mail [EMAIL]'
 */
export function redactForTelemetry(text: string): string {
  // Scanned past the cut, so that a value straddling it is still found whole (a PEM key is ~3 KB).
  const input = text.length > MAX_CAPTURED_CHARS + SCAN_MARGIN ? text.slice(0, MAX_CAPTURED_CHARS + SCAN_MARGIN) : text;
  return redact(input).slice(0, MAX_CAPTURED_CHARS);
}
