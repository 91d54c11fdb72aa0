import { encode } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { countTokens, createTokenCounter, MAX_PIECE_CHARS } from '../../src/util/count-tokens.js';

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
});

describe('a long unbroken run', () => {
  const exactO200k = (text: string) => encode(text, { disallowedSpecial: new Set() }).length;
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
