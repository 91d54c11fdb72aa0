import { gallopFitting, type TokenCounter } from './tokens.js';
import type { Block } from './types.js';

/**
 * The smallest piece the packer moves: a sentence, a line of code, or (for text too long for one
 * chunk) a run of words or characters. `sep` is the whitespace that joins it to the piece before.
 */
export interface Atom {
  text: string;
  sep: string;
  tokens: number;
  /** The boundary before it: 2 paragraph, 1 sentence or line, 0 inside a sentence. */
  level: 0 | 1 | 2;
}

// After . ! ? … (and closing quotes or brackets), before what looks like a new sentence.
const SENTENCE_END = /(?<=[.!?…]["'”’)\]]*)[ \t]+(?=["'“‘([]?[\p{Lu}\p{N}])|(?<=[。！？])[ \t]*/u;
const WORD = /\s*\S+\s*/g;

/** Atoms of a section's blocks, none over `limit` tokens. */
export function blockAtoms(blocks: Block[], limit: number, count: TokenCounter): Atom[] {
  const atoms: Atom[] = [];
  for (const block of blocks) {
    const units = block.code ? codeLines(block.text) : sentences(block.text);
    units.forEach((unit, i) => {
      const sep = i === 0 ? '\n\n' : unit.sep;
      const level = i === 0 ? 2 : 1;
      const tokens = count(unit.text);
      if (tokens <= limit) atoms.push({ text: unit.text, sep, tokens, level });
      else
        splitLong(unit.text, limit, count).forEach((piece, j) => {
          atoms.push(j === 0 ? { ...piece, sep, level } : piece);
        });
    });
  }
  return atoms;
}

interface Unit {
  text: string;
  sep: string;
}

/** Lines stay lines (a list keeps its shape); each line splits into sentences. */
function sentences(paragraph: string): Unit[] {
  const units: Unit[] = [];
  paragraph.split('\n').forEach((line, i) => {
    const text = i === 0 ? line.trim() : line.trimEnd();
    if (text.trim() === '') return;
    text
      .split(SENTENCE_END)
      .filter((s) => s !== '')
      .forEach((sentence, j) => {
        units.push({ text: sentence, sep: j === 0 ? '\n' : ' ' });
      });
  });
  return units;
}

/** Code keeps its indentation; blank lines fold into the separator of the next line. */
function codeLines(code: string): Unit[] {
  const units: Unit[] = [];
  let sep = '\n';
  for (const line of code.split('\n')) {
    if (line.trim() === '') {
      sep += '\n';
      continue;
    }
    units.push({ text: line.trimEnd(), sep });
    sep = '\n';
  }
  return units;
}

/** Cuts text over `budget` at word boundaries, or inside a word when one word is too long. */
export function splitLong(text: string, budget: number, count: TokenCounter): Atom[] {
  const words = text.match(WORD) ?? [];
  const pieces: Atom[] = [];
  let i = 0;
  while (i < words.length) {
    const first = words[i] ?? '';
    if (count(first) > budget) {
      pieces.push(...splitWord(first, budget, count));
      i++;
      continue;
    }
    // every word costs at least one token, so no more than `budget` of them fit
    const hi = Math.min(words.length, i + budget);
    const end = gallopFitting(i + 1, hi, budget / 2, (n) => count(words.slice(i, n).join('')) <= budget);
    const piece = words.slice(i, end).join('');
    pieces.push({ text: piece, sep: '', tokens: count(piece), level: 0 });
    i = end;
  }
  return pieces;
}

function splitWord(word: string, budget: number, count: TokenCounter): Atom[] {
  const chars = Array.from(word); // code points: never cut a surrogate pair
  const pieces: Atom[] = [];
  let i = 0;
  while (i < chars.length) {
    const end = gallopFitting(i + 1, chars.length, budget, (n) => count(chars.slice(i, n).join('')) <= budget);
    const piece = chars.slice(i, end).join('');
    pieces.push({ text: piece, sep: '', tokens: count(piece), level: 0 });
    i = end;
  }
  return pieces;
}
