import { detectPii, type PiiKind } from './pii-detector.js';

/** `[EMAIL_1]`: what a detected value is replaced by before a prompt leaves the gateway. */
const PLACEHOLDER = /\[(EMAIL|PHONE|CARD|IBAN|SSN|IP|SECRET)_(\d{1,6})\]/g;
/** The longest placeholder a reply can hold, `[SECRET_999999]`: what a stream may hold back. */
const LONGEST_PLACEHOLDER = '[SECRET_999999]'.length;

/**
 * One conversation's placeholders, both ways. The same value always gets the same placeholder,
 * so the model can refer to it consistently, and the reply can be restored for the client.
 */
export interface PiiVault {
  /** `text` with every detected value replaced by its placeholder, and the kinds that were found. */
  mask(text: string): { text: string; kinds: PiiKind[] };
  /**
   * Marks placeholder-shaped text already in `text` (a user may type `[EMAIL_1]`) as taken, so that
   * the vault numbers past it: the model's echo of the literal is then never restored to a value.
   */
  reserve(text: string): void;
  /** Placeholders in `text` replaced by their values; unknown ones are left as they are. */
  restore(text: string): string;
  /** A restorer for a reply that arrives in pieces (a placeholder may be split between them). */
  restorer(): StreamRestorer;
  readonly size: number;
}

export interface StreamRestorer {
  /** The text that can be released now: everything but a tail that may begin a placeholder. */
  push(delta: string): string;
  /** The held-back tail, restored. */
  flush(): string;
}

export function createPiiVault(kinds?: ReadonlySet<PiiKind>): PiiVault {
  const byValue = new Map<string, string>();
  const byPlaceholder = new Map<string, string>();
  const counts = new Map<PiiKind, number>();
  /** Placeholders the prompt held literally: never handed out. */
  const taken = new Set<string>();

  const placeholderFor = (kind: PiiKind, value: string) => {
    const key = `${kind}\u0000${value}`;
    let placeholder = byValue.get(key);
    if (!placeholder) {
      let n = counts.get(kind) ?? 0;
      do n++;
      while (taken.has(`[${kind}_${n}]`));
      counts.set(kind, n);
      placeholder = `[${kind}_${n}]`;
      byValue.set(key, placeholder);
      byPlaceholder.set(placeholder, value);
    }
    return placeholder;
  };

  const restore = (text: string) =>
    text.includes('[') ? text.replace(PLACEHOLDER, (whole) => byPlaceholder.get(whole) ?? whole) : text;

  return {
    mask(text) {
      const matches = detectPii(text, kinds);
      if (matches.length === 0) return { text, kinds: [] };
      let out = '';
      let at = 0;
      const found = new Set<PiiKind>();
      for (const match of matches) {
        out += text.slice(at, match.start) + placeholderFor(match.kind, match.value);
        at = match.end;
        found.add(match.kind);
      }
      return { text: out + text.slice(at), kinds: [...found] };
    },
    reserve(text) {
      if (!text.includes('[')) return;
      for (const [whole] of text.matchAll(PLACEHOLDER)) if (!byPlaceholder.has(whole)) taken.add(whole);
    },
    restore,
    restorer() {
      let held = '';
      return {
        push(delta) {
          const text = held + delta;
          // Hold back from the last `[` when what follows it could still grow into a placeholder.
          const open = text.lastIndexOf('[');
          const tail = open < 0 ? '' : text.slice(open);
          const partial =
            tail !== '' && tail.length < LONGEST_PLACEHOLDER && !tail.includes(']') && /^\[[A-Z]*_?\d*$/.test(tail);
          held = partial ? tail : '';
          return restore(partial ? text.slice(0, open) : text);
        },
        flush() {
          const text = held;
          held = '';
          return restore(text);
        },
      };
    },
    get size() {
      return byPlaceholder.size;
    },
  };
}
