import { describe, expect, it } from 'vitest';
import type { Atom } from './atoms.js';
import { type PackOptions, packAtoms, renderAtoms } from './pack-atoms.js';

/** One token a word: the arithmetic of the rules is easy to follow. */
const words = (text: string) => text.match(/\S+/g)?.length ?? 0;
const atom = (text: string, level: Atom['level'], sep = level === 2 ? '\n\n' : ' '): Atom => ({
  text,
  sep,
  tokens: words(text),
  level,
});
/** Sentence `name`: three words, the first of its paragraph when `first`. */
const sentence = (name: string, first = false) => atom(`${name}a ${name}b ${name}c.`, first ? 2 : 1);
const options = (budget: number, overlap = 0, more: Partial<PackOptions> = {}): PackOptions => ({
  budget,
  overlap,
  maxTokens: budget,
  frame: (body) => body,
  count: words,
  ...more,
});
const contents = (atoms: Atom[], o: PackOptions) => packAtoms(atoms, o).map((c) => c.content);

describe('renderAtoms', () => {
  it('joins atoms by their separators, dropping the first one and trailing whitespace', () => {
    expect(renderAtoms([atom('a', 2), atom('b', 1), atom('c  ', 1, '\n'), atom('d ', 0, '')])).toBe('a b\nc  d');
    expect(renderAtoms([])).toBe('');
  });
});

describe('packAtoms', () => {
  it('keeps what fits in one chunk, counted by the counter', () => {
    const atoms = [sentence('s', true), sentence('t'), sentence('u', true)];
    expect(packAtoms(atoms, options(20))).toEqual([{ content: 'sa sb sc. ta tb tc.\n\nua ub uc.', tokenCount: 9 }]);
  });

  it('ends a full chunk at the last paragraph boundary that leaves it half full', () => {
    // estimates: 3, +4, +4 | 15, 19; the sixth sentence (23) does not fit in 20
    const [p, q, r, s, t, u] = [
      sentence('p', true),
      sentence('q'),
      sentence('r'),
      sentence('s', true),
      sentence('t'),
      sentence('u'),
    ];
    expect(contents([p, q, r, s, t, u] as Atom[], options(20))).toEqual([
      'pa pb pc. qa qb qc. ra rb rc.',
      'sa sb sc. ta tb tc. ua ub uc.',
    ]);
  });

  it('ends at a sentence boundary when a paragraph boundary would leave the chunk under half full', () => {
    // the paragraph starting at q would leave 7 of 20; the next atom continues the sentence s
    const atoms = [sentence('p', true), sentence('o'), sentence('q', true), sentence('r'), sentence('s')];
    const piece = atom(' and more', 0, '');
    expect(contents([...atoms, piece], options(20))).toEqual([
      'pa pb pc. oa ob oc.\n\nqa qb qc. ra rb rc.',
      'sa sb sc. and more',
    ]);
  });

  it('ends where it filled when no boundary leaves it half full', () => {
    const pieces = Array.from({ length: 6 }, (_, i) => atom(`w${i}a w${i}b w${i}c `, i === 0 ? 2 : 0, ''));
    expect(contents(pieces, options(10))).toEqual([
      'w0a w0b w0c w1a w1b w1c w2a w2b w2c',
      'w3a w3b w3c w4a w4b w4c w5a w5b w5c',
    ]);
  });

  it('starts the next chunk with the tail of the previous one, and never emits a tail alone', () => {
    const atoms = Array.from({ length: 8 }, (_, i) => sentence(`s${i}`, i === 0));
    const chunks = contents(atoms, options(16, 4));
    expect(chunks).toEqual([
      's0a s0b s0c. s1a s1b s1c. s2a s2b s2c. s3a s3b s3c.',
      's3a s3b s3c. s4a s4b s4c. s5a s5b s5c. s6a s6b s6c.',
      's6a s6b s6c. s7a s7b s7c.',
    ]);
  });

  it('gives back atoms when the real count of the framed chunk is over the limit', () => {
    // the frame adds a four-word heading the budget did not leave room for
    const atoms = Array.from({ length: 6 }, (_, i) => sentence(`s${i}`, i === 0));
    const chunks = packAtoms(atoms, options(12, 0, { frame: (body) => `# The long heading\n\n${body}` }));
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(12);
    expect(chunks.map((c) => c.content)).toEqual([
      '# The long heading\n\ns0a s0b s0c. s1a s1b s1c.',
      '# The long heading\n\ns2a s2b s2c. s3a s3b s3c.',
      '# The long heading\n\ns4a s4b s4c. s5a s5b s5c.',
    ]);
  });

  it('cuts a lone atom finer when it alone is over the limit', () => {
    // an atom whose estimate was wrong: ten words counted as two
    const liar = { ...atom('w1 w2 w3 w4 w5 w6 w7 w8 w9 w10', 2), tokens: 2 };
    const chunks = packAtoms([liar], options(8));
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(8);
    expect(chunks.map((c) => c.content).join(' ')).toBe(liar.text);
  });

  it('refuses a limit that not even one character fits under', () => {
    expect(() => packAtoms([atom('x', 2)], options(2, 0, { frame: (body) => `a b c ${body}` }))).toThrow(
      'Chunking cannot fit a single character under maxTokens',
    );
  });

  it('gives nothing for no atoms', () => {
    expect(packAtoms([], options(10))).toEqual([]);
  });
});
