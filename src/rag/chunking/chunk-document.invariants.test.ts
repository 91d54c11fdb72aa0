import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunk-document.js';
import { countTokens, createTokenCounter } from './tokens.js';
import type { ChunkMimeType } from './types.js';

/** mulberry32: a seeded generator, so the "random" documents are the same every run. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Markdown with headings, prose, lists, code, CJK, emoji and a long unbroken token; words are numbered. */
function messyDocument(seed: number): { text: string; words: string[] } {
  const random = seeded(seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
  const words: string[] = [];
  const word = () => {
    const w = `w${words.length}`;
    words.push(w);
    return w;
  };
  const sentence = () =>
    `${Array.from({ length: 3 + Math.floor(random() * 25) }, word).join(' ')}${pick(['.', '!', '?'])}`;
  const parts: string[] = [];
  for (let i = 0; i < 40; i++) {
    const kind = pick(['heading', 'prose', 'prose', 'list', 'code', 'cjk', 'blob']);
    if (kind === 'heading') parts.push(`${'#'.repeat(1 + Math.floor(random() * 6))} Title ${i}`);
    if (kind === 'prose') parts.push(Array.from({ length: 1 + Math.floor(random() * 12) }, sentence).join(' '));
    if (kind === 'list')
      parts.push(Array.from({ length: 2 + Math.floor(random() * 5) }, () => `- ${sentence()}`).join('\n'));
    if (kind === 'code') parts.push(`\`\`\`ts\n# not a heading\n  const ${word()} = 1;\n\n  call(${word()});\n\`\`\``);
    if (kind === 'cjk') parts.push(`数据库索引可以加快查询。向量检索很有用！${word()} 🚀🚀 ${word()}`);
    if (kind === 'blob') parts.push(`${word()} ${'QmFzZTY0'.repeat(80 + Math.floor(random() * 200))} ${word()}`);
  }
  return { text: parts.join('\n\n'), words };
}

const limits = [
  { maxTokens: 16, overlapTokens: 0 },
  { maxTokens: 24, overlapTokens: 10 },
  { maxTokens: 64, overlapTokens: 60 },
  { maxTokens: 128, overlapTokens: 30 },
  { maxTokens: 400, overlapTokens: 60 },
];
const mimeTypes: ChunkMimeType[] = ['text/markdown', 'text/plain'];

describe('chunkDocument invariants', () => {
  // one counter for every document of every test, as the indexer keeps one: it must change nothing
  const sharedCounter = createTokenCounter(500);
  for (const mimeType of mimeTypes)
    for (const limit of limits)
      it(`${mimeType} ${JSON.stringify(limit)}: bounded, non-empty, lossless, deterministic`, () => {
        for (const seed of [1, 2, 3]) {
          const { text, words } = messyDocument(seed);
          const chunks = chunkDocument(text, { mimeType, ...limit });
          expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));
          for (const chunk of chunks) {
            expect(chunk.content.trim()).not.toBe('');
            expect(chunk.tokenCount).toBe(countTokens(chunk.content));
            expect(chunk.tokenCount).toBeLessThanOrEqual(limit.maxTokens);
          }
          const seen = new Set(chunks.flatMap((c) => c.content.match(/\bw\d+\b/g) ?? []));
          expect(words.filter((w) => !seen.has(w))).toEqual([]);
          expect(chunkDocument(text, { mimeType, ...limit })).toEqual(chunks);
          expect(chunkDocument(text, { mimeType, ...limit, tokenCounter: sharedCounter })).toEqual(chunks);
        }
      });

  it('returns nothing for empty or blank input', () => {
    for (const mimeType of [...mimeTypes, 'text/html'] as const) {
      expect(chunkDocument('', { mimeType })).toEqual([]);
      expect(chunkDocument(' \n\n\t\n', { mimeType })).toEqual([]);
    }
    expect(chunkDocument('<script>only()</script><style>a{}</style>', { mimeType: 'text/html' })).toEqual([]);
  });

  it('rejects limits it cannot honour', () => {
    expect(() => chunkDocument('x', { mimeType: 'text/plain', maxTokens: 8 })).toThrow(RangeError);
    expect(() => chunkDocument('x', { mimeType: 'text/plain', overlapTokens: -1 })).toThrow(RangeError);
  });
});
