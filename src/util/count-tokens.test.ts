import { createRequire } from 'node:module';
import { encode } from 'gpt-tokenizer';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

/** The longest o200k piece of `text`: gpt-tokenizer splits what it is given into these, then runs BPE on each. */
const longestPiece = (text: string) => Math.max(0, ...(text.match(O200K_TOKEN_SPLIT_REGEX) ?? []).map((p) => p.length));

// The copy of gpt-tokenizer that count-tokens.ts loads (CommonJS, on its first count), watched so
// that tests see what BPE was given; installed before any count in this file. A piece over the
// bound fails at once, instead of a test running for minutes in quadratic BPE.
const bpe = createRequire(import.meta.url)('gpt-tokenizer') as typeof import('gpt-tokenizer');
const bpeCount = bpe.countTokens;
const bpeCalls = vi.spyOn(bpe, 'countTokens').mockImplementation((text, options) => {
  const longest = longestPiece(String(text));
  if (longest > MAX_PIECE_CHARS) throw new Error(`BPE was given a piece of ${longest} characters`);
  return bpeCount(text, options);
});
// Loaded afresh after the spy: files share modules (isolate: false), and count-tokens.ts keeps the
// function it loaded on its first count, which another file's count may have made before this one.
vi.resetModules();
const { countTokens, createTokenCounter, MAX_PIECE_CHARS } = await import('./count-tokens.js');
beforeEach(() => {
  bpeCalls.mockClear();
});
afterAll(() => {
  bpeCalls.mockRestore();
});
const textsGivenToBpe = () => bpeCalls.mock.calls.map(([text]) => String(text));
const exactO200k = (text: string) => encode(text, { disallowedSpecial: new Set() }).length;

// Where o200k's pieces meet: a space joins the next word, punctuation takes the newlines (and
// slashes) after it, digits go in threes, runs of spaces give all but one to the space piece.
const texts = [
  '',
  'Hello world',
  'end.\n\nNext paragraph.',
  'path:\n/usr/local/bin and .\n/x',
  'a  b   c\t d \n  \n e',
  '12345678 1 22 333 4444',
  "don't we'll THEY'RE you'VE",
  '(parenthesised) [bracketed] "quoted" — dashed…',
  '数据库索引可以加快查询。向量检索很有用！',
  '🚀🚀 👩‍👩‍👧‍👦 é́ ǅungla',
  'The string <|endoftext|> and <|im_start|> are text here.',
  '\r\n\r\nCRLF lines\r\n',
  '\u00a0non-breaking\u2028separator\u3000ideographic space',
  `${'QmFzZTY0'.repeat(200)} ${'x'.repeat(500)}`,
  '```ts\n  const v = call(1, "x".repeat(2));\n```',
];

describe('createTokenCounter', () => {
  it('counts exactly as countTokens, again and again', () => {
    const count = createTokenCounter();
    for (let round = 0; round < 2; round++)
      for (const text of texts) expect({ text, tokens: count(text) }).toEqual({ text, tokens: countTokens(text) });
  });

  it('counts exactly after it runs out of room and starts over', () => {
    const count = createTokenCounter(3);
    const all = texts.join(' ');
    expect(count(all)).toBe(countTokens(all));
    for (const text of texts) expect(count(text)).toBe(countTokens(text));
  });

  it('tokenizes a piece it has seen only once, and forgets all after maxPieces', () => {
    const count = createTokenCounter(2);
    expect(count('one two three')).toBe(3);
    expect(textsGivenToBpe()).toEqual(['one', ' two', ' three']);
    // room for two: ' three' came third, so the first two were forgotten to make room for it
    bpeCalls.mockClear();
    expect(count('one three')).toBe(2);
    expect(textsGivenToBpe()).toEqual(['one']);
  });

  it('does not keep long pieces (a long run rarely comes back)', () => {
    const count = createTokenCounter();
    const blob = 'x'.repeat(100);
    const first = count(blob);
    bpeCalls.mockClear();
    expect(count(blob)).toBe(first);
    expect(textsGivenToBpe()).toEqual([blob]);
    expect(first).toBe(exactO200k(blob));
  });
});

describe('a long unbroken run', () => {
  const word = (length: number) =>
    Array.from({ length }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join('');

  it('counts 100,000 repeated letters as BPE does (eight to a token)', () => {
    expect(countTokens('a'.repeat(100_000))).toBe(12_500);
  });

  it('counts a long word of varied letters within a token per slice of the exact count', () => {
    const text = word(3_000);
    const cuts = Math.ceil(text.length / MAX_PIECE_CHARS);
    expect(Math.abs(countTokens(text) - exactO200k(text))).toBeLessThanOrEqual(cuts);
  });

  it('counts a run of emoji as BPE does, and the same through createTokenCounter', () => {
    expect(countTokens(` ${'🚀'.repeat(1_000)}`)).toBe(exactO200k(` ${'🚀'.repeat(1_000)}`));
    const text = `emoji ${'🚀'.repeat(1_000)} and ${word(1_000)}\n${'=\n/'.repeat(500)}`;
    expect(countTokens(text)).toBe(createTokenCounter()(text));
  });
});

describe('pathological input', () => {
  // BPE's time grows with the square of a piece's length: what bounds the work is that it never
  // encodes a piece longer than MAX_PIECE_CHARS, and every character is tokenized once.
  const runs: Record<string, string> = {
    'one letter': 'a'.repeat(200_000),
    'capitals then lower case': `${'A'.repeat(100_000)}${'b'.repeat(100_000)}`,
    spaces: ' '.repeat(200_000),
    'combining marks': `e${'\u0301'.repeat(200_000)}`,
    'ideographs without spaces': '数据库'.repeat(70_000),
    'emoji after a space (surrogate pairs across slices)': ` ${'🚀'.repeat(100_000)}`,
    'base64 inside prose': `Attached: ${'QmFzZTY0+/'.repeat(20_000)} (end of attachment).`,
  };

  for (const [name, text] of Object.entries(runs))
    it(`${name}: BPE encodes pieces of at most MAX_PIECE_CHARS, each character once`, () => {
      const count = countTokens(text);
      const seen = textsGivenToBpe();
      expect(Math.max(...seen.map(longestPiece))).toBeLessThanOrEqual(MAX_PIECE_CHARS);
      expect(seen.join('')).toBe(text);
      // never a slice that starts or ends inside a surrogate pair
      expect(seen.filter((t) => /^[\udc00-\udfff]|[\ud800-\udbff]$/.test(t))).toEqual([]);
      expect(count).toBeGreaterThan(0);
    });

  it('counts a megabyte of one letter exactly: slices of a repeated letter cut on token edges', () => {
    expect(countTokens('a'.repeat(1_000_000))).toBe(125_000);
    expect(textsGivenToBpe()).toHaveLength(Math.ceil(1_000_000 / MAX_PIECE_CHARS));
  });

  it('counts text without a long piece in one call', () => {
    const prose = 'Short words only, as natural text has. '.repeat(1_000);
    expect(countTokens(prose)).toBe(exactO200k(prose));
    expect(textsGivenToBpe()).toEqual([prose]);
  });
});
