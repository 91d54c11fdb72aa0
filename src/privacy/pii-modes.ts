/**
 * What the gateway does with personal data, from the least to the most protective:
 * - `off`: nothing.
 * - `logs`: prompts reach the provider as written; logs, traces and stored usage never hold detected values.
 * - `mask`: detected values are replaced by placeholders before the provider sees them, and restored in
 *   the reply the client sees and the gateway stores.
 * - `block`: a prompt that holds any is refused with PII_DETECTED.
 */
export const PII_MODES = ['off', 'logs', 'mask', 'block'] as const;
export type PiiMode = (typeof PII_MODES)[number];

/** A stored mode (a text column), or null when none is set or it is not one of PII_MODES. */
export function parsePiiMode(value: string | null | undefined): PiiMode | null {
  return (PII_MODES as readonly string[]).includes(value ?? '') ? (value as PiiMode) : null;
}

/** The most protective of the modes that apply (the config default, the user's, the key's): the tighter wins, as limits do. */
export function strictestPiiMode(...modes: (PiiMode | null | undefined)[]): PiiMode {
  let strictest: PiiMode = 'off';
  for (const mode of modes) if (mode && PII_MODES.indexOf(mode) > PII_MODES.indexOf(strictest)) strictest = mode;
  return strictest;
}
