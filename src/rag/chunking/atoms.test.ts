import { describe, expect, it } from 'vitest';
import { type Atom, blockAtoms, splitLong } from './atoms.js';
import { countTokens } from './tokens.js';

const prose = (text: string) => ({ text, code: false });
const code = (text: string) => ({ text, code: true });
const texts = (atoms: Atom[]) => atoms.map((a) => a.text);
/** Each atom as [separator before it, boundary level, text]. */
const shape = (atoms: Atom[]) => atoms.map((a) => [a.sep, a.level, a.text]);

describe('blockAtoms: sentences', () => {
  it('cuts prose after . ! ? and … before a capital or a digit', () => {
    const atoms = blockAtoms([prose('One. Two! Three? Four… 5 left. done here. e.g. this')], 100, countTokens);
    expect(texts(atoms)).toEqual(['One.', 'Two!', 'Three?', 'Four…', '5 left. done here. e.g. this']);
  });

  it('keeps closing quotes and brackets with the sentence they end', () => {
    const atoms = blockAtoms([prose('He said "Stop." Then (after a pause.) "Go," she said.')], 100, countTokens);
    expect(texts(atoms)).toEqual(['He said "Stop."', 'Then (after a pause.)', '"Go," she said.']);
  });

  it('cuts after CJK sentence marks without a space', () => {
    expect(texts(blockAtoms([prose('数据库索引。向量检索！好吗？')], 100, countTokens))).toEqual([
      '数据库索引。',
      '向量检索！',
      '好吗？',
    ]);
  });

  it('marks a paragraph start 2, a sentence or line start 1, and keeps lines as lines', () => {
    const atoms = blockAtoms(
      [prose('  First. Second.\n- item one\n- item two   \n\n'), prose('Next.')],
      100,
      countTokens,
    );
    expect(shape(atoms)).toEqual([
      ['\n\n', 2, 'First.'],
      [' ', 1, 'Second.'],
      ['\n', 1, '- item one'],
      ['\n', 1, '- item two'],
      ['\n\n', 2, 'Next.'],
    ]);
    for (const atom of atoms) expect(atom.tokens).toBe(countTokens(atom.text));
  });
});

describe('blockAtoms: code', () => {
  it('keeps each line with its indentation and folds blank lines into the next separator', () => {
    const atoms = blockAtoms([code('```ts\n  if (x) {\n\n\n    y();\n  }\n```')], 100, countTokens);
    expect(shape(atoms)).toEqual([
      ['\n\n', 2, '```ts'],
      ['\n', 1, '  if (x) {'],
      ['\n\n\n', 1, '    y();'],
      ['\n', 1, '  }'],
      ['\n', 1, '```'],
    ]);
  });

  it('never cuts a code line at a full stop', () => {
    expect(texts(blockAtoms([code('a. B. C.')], 100, countTokens))).toEqual(['a. B. C.']);
  });
});

describe('blockAtoms: over the limit', () => {
  it('cuts a sentence over the limit into pieces within it; the first keeps the boundary', () => {
    const sentence = Array.from({ length: 40 }, (_, i) => `Word${i}`).join(' ');
    const atoms = blockAtoms([prose(`Short one. ${sentence}.`)], 10, countTokens);
    expect(atoms[0]).toMatchObject({ text: 'Short one.', sep: '\n\n', level: 2 });
    const pieces = atoms.slice(1);
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces[0]).toMatchObject({ sep: ' ', level: 1 });
    for (const piece of pieces.slice(1)) expect(piece).toMatchObject({ sep: '', level: 0 });
    for (const piece of pieces) expect(piece.tokens).toBeLessThanOrEqual(10);
    expect(texts(pieces).join('')).toBe(`${sentence}.`);
  });
});

describe('splitLong', () => {
  it('cuts at word boundaries, each piece within the budget, losing nothing', () => {
    const text = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const pieces = splitLong(text, 16, countTokens);
    expect(texts(pieces).join('')).toBe(text);
    for (const piece of pieces) {
      expect(piece).toMatchObject({ sep: '', level: 0, tokens: countTokens(piece.text) });
      expect(piece.tokens).toBeLessThanOrEqual(16);
      // a piece ends after a word's trailing space, so the next starts with a word
      expect(piece.text).toMatch(/^\S/);
    }
    // greedy: a piece and the next one's first word would not fit together
    for (let i = 1; i < pieces.length; i++) {
      const nextWord = (pieces[i] as Atom).text.match(/^\S+\s*/)?.[0] ?? '';
      expect(countTokens((pieces[i - 1] as Atom).text + nextWord)).toBeGreaterThan(16);
    }
  });

  it('cuts a word longer than the budget between code points, never inside a surrogate pair', () => {
    const word = '🚀a'.repeat(300);
    const pieces = splitLong(word, 8, countTokens);
    expect(texts(pieces).join('')).toBe(word);
    for (const piece of pieces) {
      expect(piece.tokens).toBeLessThanOrEqual(8);
      expect(piece.text).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
    }
  });

  it('keeps pieces within an odd budget when a long word follows short ones', () => {
    // an odd budget once made a fractional probe step, and the long word came out whole (12 tokens)
    const pieces = splitLong('a b c Zq9Zq9Zq9Zq9', 5, countTokens);
    expect(texts(pieces).join('')).toBe('a b c Zq9Zq9Zq9Zq9');
    for (const piece of pieces) expect(piece.tokens).toBeLessThanOrEqual(5);
    expect(texts(pieces)[0]).toBe('a b c ');
  });

  it('counts about a few times the text however long it is (no quadratic rescans)', () => {
    for (const text of ['x9Q'.repeat(30_000), Array.from({ length: 20_000 }, (_, i) => `w${i}`).join(' ')]) {
      let counted = 0;
      const count = (t: string) => {
        counted += t.length;
        return countTokens(t);
      };
      const pieces = splitLong(text, 16, count);
      expect(texts(pieces).join('')).toBe(text);
      expect(counted / text.length).toBeLessThan(12);
    }
  });
});
