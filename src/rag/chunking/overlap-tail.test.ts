import { describe, expect, it } from 'vitest';
import type { Atom } from './atoms.js';
import { overlapTail } from './overlap-tail.js';

/** One token a word: the arithmetic of the rules is easy to follow. */
const words = (text: string) => text.match(/\S+/g)?.length ?? 0;
const atom = (text: string, level: Atom['level'], sep = ' '): Atom => ({ text, sep, tokens: words(text), level });
const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`).join(' ');

const a = atom(`${numbered('a', 5)}.`, 2, '\n\n');
const b = atom(`${numbered('b', 4)}.`, 1);
const c = atom(`${numbered('c', 3)}.`, 1);

describe('overlapTail', () => {
  it('repeats the last whole sentences within the overlap, counting a token per separator', () => {
    // c: 3; b and the space before c: 4 + 1 = 8
    expect(overlapTail([a, b, c], 8, words)).toEqual([b, c]);
    expect(overlapTail([a, b, c], 7, words)).toEqual([c]);
  });

  it('never repeats the whole chunk, however large the overlap', () => {
    // b and c are under a third of 100: the tail is words, all but the chunk's first
    expect(overlapTail([a, b, c], 100, words)).toEqual([
      { text: `${a.text.slice(3)} ${b.text} ${c.text}`, sep: '', tokens: 11, level: 0 },
    ]);
  });

  it('gives nothing without an overlap', () => {
    expect(overlapTail([a, b, c], 0, words)).toEqual([]);
    expect(overlapTail([a], 0, words)).toEqual([]);
    expect(overlapTail([], 10, words)).toEqual([]);
  });

  it('takes sentences that make a third of the overlap, else more in whole words', () => {
    const long = atom(numbered('a', 20), 2, '\n\n');
    expect(overlapTail([long, c], 9, words)).toEqual([c]);
    expect(overlapTail([long, c], 10, words)).toEqual([
      { text: `${numbered('a', 20).split(' ').slice(-7).join(' ')} ${c.text}`, sep: '', tokens: 10, level: 0 },
    ]);
  });

  it('starts a sentence tail only at a sentence boundary, not inside a cut sentence', () => {
    // p1 and p2 are two pieces of one long sentence (splitLong keeps the space in the first)
    const p1 = atom('p1 p2 p3 p4 ', 1);
    const p2 = atom('p5 p6 p7', 0, '');
    expect(overlapTail([a, p1, p2], 9, words)).toEqual([p1, p2]);
    // no sentence start fits: the last whole words do
    expect(overlapTail([a, p1, p2], 5, words)).toEqual([{ text: 'p3 p4 p5 p6 p7', sep: '', tokens: 5, level: 0 }]);
  });

  it('repeats the last words of a chunk that is one atom, never all of it', () => {
    const only = atom(`${numbered('w', 10)}.`, 2, '\n\n');
    expect(overlapTail([only], 4, words)).toEqual([{ text: 'w7 w8 w9 w10.', sep: '', tokens: 4, level: 0 }]);
    expect(overlapTail([only], 50, words)[0]?.text).toBe(`${numbered('w', 10).slice(3)}.`);
    expect(overlapTail([atom('single', 2, '\n\n')], 4, words)).toEqual([]);
  });

  it('counts the word tail with the counter it is given', () => {
    const perChar = (text: string) => text.length;
    const [tail] = overlapTail([atom('alpha beta gamma', 2, '\n\n')], 11, perChar);
    expect(tail).toEqual({ text: 'beta gamma', sep: '', tokens: 10, level: 0 });
  });
});
