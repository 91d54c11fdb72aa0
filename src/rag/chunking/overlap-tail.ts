import type { Atom } from './atoms.js';
import { largestFitting, type TokenCounter } from './tokens.js';

/**
 * What the next chunk repeats of `emitted`: its last whole sentences within `overlap` tokens, or,
 * when they come to less than a third of it (long sentences), its last words within `overlap`.
 * Never the whole chunk, which would only repeat it.
 */
export function overlapTail(emitted: readonly Atom[], overlap: number, count: TokenCounter): Atom[] {
  if (overlap <= 0 || emitted.length < 2) return emitted.length === 1 ? wordTail(emitted, overlap, count) : [];
  let size = 0;
  let start = -1;
  let startSize = 0;
  for (let j = emitted.length - 1; j >= 1; j--) {
    const atom = emitted[j] as Atom;
    size += atom.tokens + (j < emitted.length - 1 && (emitted[j + 1] as Atom).sep !== '' ? 1 : 0);
    if (size > overlap) break;
    if (atom.level >= 1) {
      start = j;
      startSize = size;
    }
  }
  if (start >= 0 && startSize * 3 >= overlap) return emitted.slice(start);
  const words = wordTail(emitted, overlap, count);
  const wordTokens = words[0]?.tokens ?? 0;
  return wordTokens > startSize ? words : start >= 0 ? emitted.slice(start) : [];
}

/** The longest run of whole words at the end of the chunk's body within `overlap` tokens. */
function wordTail(emitted: readonly Atom[], overlap: number, count: TokenCounter): Atom[] {
  if (overlap <= 0) return [];
  // the last few atoms hold the tail; rendering all of a big chunk would waste time
  let from = emitted.length - 1;
  let tokens = 0;
  while (from > 0 && tokens <= overlap) tokens += (emitted[from--] as Atom).tokens;
  const body = emitted
    .slice(from)
    .map((a, i) => (i === 0 ? a.text : a.sep + a.text))
    .join(''); // trailing space kept: the next atom may be the rest of this sentence, joined with ''
  const words = body.match(/\S+\s*/g) ?? [];
  const n = words.length;
  // the tail starts at word `n - k`; find the largest k that fits (each word is at least a token)
  let tailTokens = 0; // of the last tail that fitted, which is the one found
  const k = largestFitting(0, Math.min(n - 1, overlap), (m) => {
    const size = count(words.slice(n - m).join(''));
    if (size <= overlap) tailTokens = size;
    return size <= overlap;
  });
  if (k === 0) return [];
  return [{ text: words.slice(n - k).join(''), sep: '', tokens: tailTokens, level: 0 }];
}
