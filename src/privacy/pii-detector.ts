/** The kinds of personal data and secrets the detector finds. */
export const PII_KINDS = ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'SSN', 'IP', 'SECRET'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiMatch {
  kind: PiiKind;
  /** UTF-16 offsets into the text, end exclusive. */
  start: number;
  end: number;
  value: string;
}

interface Rule {
  kind: PiiKind;
  /** A substring every match holds: a text without it skips the rule (most prompts hold no `@`). */
  needs?: string;
  /** Global, and linear in the text: no nested or overlapping unbounded quantifiers. */
  pattern: RegExp;
  /** A checksum or shape check that a match must also pass (random digits are not data). */
  accept?: (value: string) => boolean;
}

const digitsOf = (value: string) => value.replace(/\D/g, '');

/** Luhn's checksum, which every payment card number passes. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** ISO 13616: the IBAN moved four characters to the end, letters as numbers, mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '').toUpperCase();
  if (compact.length < 15 || compact.length > 34) return false;
  const moved = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of moved) {
    const code = char.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/**
 * Issuer prefixes and the lengths each issues (ISO/IEC 7812 ranges of the major networks): Visa,
 * Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir. A run that
 * passes Luhn by chance (one in ten do) must also fit one of these: a 14-digit timestamp such as
 * 20261124210000 does not.
 */
const CARD_ISSUERS: readonly { prefix: RegExp; lengths: readonly number[] }[] = [
  { prefix: /^4/, lengths: [13, 16, 19] },
  { prefix: /^(?:5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, lengths: [16] },
  { prefix: /^3[47]/, lengths: [15] },
  { prefix: /^(?:6011|64[4-9]|65)/, lengths: [16, 17, 18, 19] },
  { prefix: /^(?:30[0-5]|3095|3[689])/, lengths: [14, 15, 16, 17, 18, 19] },
  { prefix: /^35(?:2[89]|[3-8]\d)/, lengths: [16, 17, 18, 19] },
  { prefix: /^62/, lengths: [16, 17, 18, 19] },
  { prefix: /^(?:50|5[6-8]|6)/, lengths: [13, 14, 15, 16, 17, 18, 19] },
  { prefix: /^220[0-4]/, lengths: [16, 17, 18, 19] },
];

/** Card numbers: 13 to 19 digits, in groups or not, an issuer's prefix and length, Luhn-valid, not one repeated digit. */
const cardAccept = (value: string) => {
  const digits = digitsOf(value);
  return (
    CARD_ISSUERS.some(({ prefix, lengths }) => lengths.includes(digits.length) && prefix.test(digits)) &&
    !/^(\d)\1+$/.test(digits) &&
    luhnValid(digits)
  );
};

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const HEX4 = '[0-9A-Fa-f]{1,4}';

const RULES: readonly Rule[] = [
  {
    kind: 'SECRET',
    pattern:
      /\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,200}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|xox[abprs]-[A-Za-z0-9-]{10,200}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{8,2000})/g,
  },
  { kind: 'SECRET', needs: 'earer ', pattern: /(?<=\b[Bb]earer )[A-Za-z0-9._~+/-]{20,2000}=*/g },
  {
    kind: 'IBAN',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    accept: ibanValid,
  },
  { kind: 'CARD', pattern: /(?<![\w.-])\d(?:[ -]?\d){12,18}(?!\w|[.-]\d)/g, accept: cardAccept },
  // US social security numbers in their written form only: nine bare digits are too often something else.
  { kind: 'SSN', needs: '-', pattern: /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g },
  {
    kind: 'PHONE',
    // International (+ and a country code) or North American with separators; never bare digit runs.
    pattern:
      /(?<![\w+])(?:\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}\d|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w-]|\.\d)/g,
    accept: (value) => {
      const length = digitsOf(value).length;
      return length >= 8 && length <= 15;
    },
  },
  {
    kind: 'IP',
    pattern: new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w.]?\\d)(?!\\.\\w)`, 'g'),
    // Version strings (1.2.3.4) read as addresses in the first block only; real hosts rarely do.
    accept: (value) => !/^\d\.\d{1,2}\.\d{1,2}\.\d{1,3}$/.test(value) || value.startsWith('1.1.1.'),
  },
  {
    kind: 'IP',
    needs: ':',
    // IPv6: eight groups, or a compressed form with at least three groups around `::`.
    pattern: new RegExp(
      `(?<![\\w:])(?:(?:${HEX4}:){7}${HEX4}|(?:${HEX4}:){1,6}:(?:${HEX4}:){0,5}${HEX4})(?![\\w:])`,
      'g',
    ),
    accept: (value) => /\d/.test(value) && value.split(':').filter(Boolean).length >= 3,
  },
];

/**
 * Finds personal data and secrets in `text`: emails, phone numbers, payment cards (Luhn), IBANs
 * (mod 97), US SSNs, IPv4 and IPv6 addresses, and secrets (provider and cloud API keys, bearer
 * tokens, JWTs, private keys). Every pattern is linear in the text; where a checksum exists a
 * match must pass it. Overlaps are resolved by position, then by length (the longer wins).
 */
export function detectPii(text: string, kinds: ReadonlySet<PiiKind> | undefined = undefined): PiiMatch[] {
  const found: PiiMatch[] = [
    ...(!kinds || kinds.has('SECRET') ? privateKeys(text) : []),
    ...(!kinds || kinds.has('EMAIL') ? emails(text) : []),
  ];
  for (const rule of RULES) {
    if (kinds && !kinds.has(rule.kind)) continue;
    if (rule.needs && !text.includes(rule.needs)) continue;
    rule.pattern.lastIndex = 0;
    for (const match of text.matchAll(rule.pattern)) {
      const value = match[0];
      if (rule.accept && !rule.accept(value)) continue;
      found.push({ kind: rule.kind, start: match.index, end: match.index + value.length, value });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: PiiMatch[] = [];
  for (const match of found) {
    const last = kept.at(-1);
    if (last && match.start < last.end) continue;
    kept.push(match);
  }
  return kept;
}

const PEM_BEGIN = /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----/g;
const PEM_END = /-----END [A-Z ]{0,40}PRIVATE KEY-----/g;

/** PEM private key blocks, found with one forward scan (a regex spanning BEGIN..END would rescan). */
function privateKeys(text: string): PiiMatch[] {
  const found: PiiMatch[] = [];
  if (!text.includes('PRIVATE KEY-----')) return found;
  PEM_BEGIN.lastIndex = 0;
  for (let begin = PEM_BEGIN.exec(text); begin; begin = PEM_BEGIN.exec(text)) {
    PEM_END.lastIndex = begin.index + begin[0].length;
    const end = PEM_END.exec(text);
    // No END after this BEGIN: none after a later BEGIN either.
    if (!end) break;
    const stop = end.index + end[0].length;
    found.push({ kind: 'SECRET', start: begin.index, end: stop, value: text.slice(begin.index, stop) });
    PEM_BEGIN.lastIndex = stop;
  }
  return found;
}

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN = /(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/y;

/** Email addresses, grown outwards from each `@`: a regex tried at every position would rescan the local part. */
function emails(text: string): PiiMatch[] {
  const found: PiiMatch[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text.charAt(start - 1))) start--;
    // The local part starts at a word boundary, as `\b` would place it.
    while (start < at && !/[A-Za-z0-9]/.test(text.charAt(start))) start++;
    if (start === at || (start > 0 && /\w/.test(text.charAt(start - 1)))) continue;
    DOMAIN.lastIndex = at + 1;
    const domain = DOMAIN.exec(text);
    if (!domain) continue;
    const end = at + 1 + domain[0].length;
    found.push({ kind: 'EMAIL', start, end, value: text.slice(start, end) });
  }
  return found;
}
