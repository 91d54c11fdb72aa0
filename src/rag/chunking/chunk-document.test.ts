import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunk-document.js';
import { countTokens } from './tokens.js';
import type { Chunk } from './types.js';

/** `paragraphs` paragraphs of `sentences` numbered sentences each (about 12 tokens a sentence). */
function longSection(paragraphs: number, sentences: number): string {
  return Array.from({ length: paragraphs }, (_, p) =>
    Array.from({ length: sentences }, (_, s) => `Paragraph ${p} sentence ${s} of the routing guide.`).join(' '),
  ).join('\n\n');
}

/** The longest end of `previous` that `next` starts with: the overlap between two chunks. */
function sharedEdge(previous: string, next: string): string {
  for (let length = Math.min(previous.length, next.length); length > 0; length--) {
    if (previous.endsWith(next.slice(0, length))) return next.slice(0, length);
  }
  return '';
}

const guide = `# Guide

Switchyard routes chat requests.

## Install

Run \`npm ci\`, then start the server.

\`\`\`bash
# this comment is code, not a heading
npm ci
## nor is this

npm start
\`\`\`

### Docker

Build the image first.

## Use

Send a GraphQL query.
`;

const body = (chunk: Chunk) =>
  chunk.heading === undefined ? chunk.content : chunk.content.slice(chunk.heading.length + 2);

describe('chunkDocument (Markdown)', () => {
  it('keeps every section with its heading path', () => {
    const chunks = chunkDocument(guide, { mimeType: 'text/markdown' });
    expect(chunks.map((c) => [c.ordinal, c.heading])).toEqual([
      [0, '# Guide'],
      [1, '# Guide > ## Install'],
      [2, '# Guide > ## Install > ### Docker'],
      [3, '# Guide > ## Use'],
    ]);
    expect(chunks[3]?.content).toBe('# Guide > ## Use\n\nSend a GraphQL query.');
    for (const chunk of chunks) {
      expect(chunk.content.startsWith(`${chunk.heading}\n\n`)).toBe(true);
      expect(chunk.tokenCount).toBe(countTokens(chunk.content));
    }
  });

  it("ignores '#' inside fenced code and keeps the fence whole", () => {
    const install = chunkDocument(guide, { mimeType: 'text/markdown' })[1];
    expect(install?.content).toContain(
      '```bash\n# this comment is code, not a heading\nnpm ci\n## nor is this\n\nnpm start\n```',
    );
  });

  it('gives text before the first heading its own chunk without a heading', () => {
    const [first] = chunkDocument('Preface line.\n\n# Title\n\nBody.', { mimeType: 'text/markdown' });
    expect(first).toEqual({ ordinal: 0, content: 'Preface line.', tokenCount: countTokens('Preface line.') });
  });

  it('splits a long section into overlapping chunks under the limit, each with the heading', () => {
    const markdown = `# Manual\n\n## Routing\n\n${longSection(6, 9)}\n\n## After\n\nDone.`;
    const chunks = chunkDocument(markdown, { mimeType: 'text/markdown', maxTokens: 120, overlapTokens: 30 });
    const routing = chunks.filter((c) => c.heading === '# Manual > ## Routing');
    expect(routing.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(120);
    for (let i = 1; i < routing.length; i++) {
      const shared = sharedEdge(body(routing[i - 1] as Chunk), body(routing[i] as Chunk));
      // whole sentences of roughly overlapTokens: at least one, never more than the budget
      expect(countTokens(shared)).toBeGreaterThanOrEqual(10);
      expect(countTokens(shared)).toBeLessThanOrEqual(30);
      expect(shared).toMatch(/^Paragraph \d+ sentence \d+/);
    }
    // the next section starts fresh: no overlap across headings
    expect(chunks.at(-1)?.content).toBe('# Manual > ## After\n\nDone.');
  });

  it('prefers to end a chunk at a paragraph boundary', () => {
    // two 6-sentence paragraphs fill ~85% of a chunk; sentences of the third would still fit
    const chunks = chunkDocument(longSection(6, 6), { mimeType: 'text/markdown', maxTokens: 170, overlapTokens: 0 });
    expect(chunks).toHaveLength(3);
    for (const chunk of chunks) {
      expect(chunk.content).toMatch(/^Paragraph \d sentence 0 .*sentence 5 of the routing guide\.$/s);
      expect(chunk.content.split('\n\n')).toHaveLength(2);
    }
  });

  it('cuts a sentence longer than a chunk at word boundaries, with overlap, under the limit', () => {
    const words = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkDocument(`# Big\n\n${words}.`, {
      mimeType: 'text/markdown',
      maxTokens: 100,
      overlapTokens: 20,
    });
    expect(chunks.length).toBeGreaterThan(5);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(100);
      expect(chunk.content).toMatch(/^# Big\n\nword\d+ /);
      if (i === 0) continue;
      const shared = sharedEdge(body(chunks[i - 1] as Chunk), body(chunk));
      expect(countTokens(shared)).toBeGreaterThanOrEqual(10);
      expect(countTokens(shared)).toBeLessThanOrEqual(20);
    }
  });

  it('cuts one enormous word and still honours the limit', () => {
    const blob = 'x9Q'.repeat(3000);
    const chunks = chunkDocument(`# Blob\n\n${blob}`, { mimeType: 'text/markdown', maxTokens: 64, overlapTokens: 0 });
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(64);
    expect(chunks.map(body).join('')).toBe(blob);
  });

  it('shortens a heading path too long for the limit', () => {
    const title = 'Very long heading words '.repeat(20).trim();
    const chunks = chunkDocument(`# ${title}\n\n## Short\n\nText here.`, { mimeType: 'text/markdown', maxTokens: 32 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.content).toBe('## Short\n\nText here.');
    expect(chunks[0]?.heading).toBe(`# ${title} > ## Short`);
  });

  it('keeps a document made only of headings', () => {
    expect(chunkDocument('# Only\n## Headings', { mimeType: 'text/markdown' })).toEqual([
      { ordinal: 0, content: '# Only\n## Headings', tokenCount: countTokens('# Only\n## Headings') },
    ]);
  });

  it('counts special-token text such as <|endoftext|> as ordinary text', () => {
    const [chunk] = chunkDocument('The string <|endoftext|> ends a sample.', { mimeType: 'text/markdown' });
    expect(chunk?.content).toBe('The string <|endoftext|> ends a sample.');
  });
});

describe('chunkDocument (plain text)', () => {
  it('keeps short text whole, without headings, even when lines start with #', () => {
    const text = '# not a heading in plain text\n\nSecond paragraph.\r\nSame paragraph, next line.\rThird line.';
    const content = '# not a heading in plain text\n\nSecond paragraph.\nSame paragraph, next line.\nThird line.';
    expect(chunkDocument(text, { mimeType: 'text/plain' })).toEqual([
      { ordinal: 0, content, tokenCount: countTokens(content) },
    ]);
  });

  it('splits at paragraphs, then sentences, overlapping by whole sentences', () => {
    const chunks = chunkDocument(longSection(4, 12), { mimeType: 'text/plain', maxTokens: 90, overlapTokens: 25 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(90);
      expect(chunk.heading).toBeUndefined();
      // every chunk starts and ends on a sentence boundary
      expect(chunk.content).toMatch(/^Paragraph \d+ sentence \d+ .*guide\.$/s);
      if (i > 0) expect(sharedEdge(chunks[i - 1]?.content ?? '', chunk.content)).toMatch(/^Paragraph/);
    }
  });
});

describe('chunkDocument options', () => {
  it('caps the overlap at a third of what a chunk has room for', () => {
    const chunks = chunkDocument(longSection(3, 12), { mimeType: 'text/plain', maxTokens: 60, overlapTokens: 1_000 });
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const shared = sharedEdge(chunks[i - 1]?.content ?? '', chunks[i]?.content ?? '');
      expect(countTokens(shared)).toBeGreaterThan(0);
      expect(countTokens(shared)).toBeLessThanOrEqual(20);
    }
  });

  it('cuts a deepest heading too long for half the limit, with an ellipsis', () => {
    const title = 'Extraordinarily verbose heading words '.repeat(10).trim();
    const [chunk] = chunkDocument(`# Top\n\n## ${title}\n\nBody text.`, { mimeType: 'text/markdown', maxTokens: 40 });
    const prefix = chunk?.content.split('\n\n')[0] ?? '';
    expect(prefix).toMatch(/^## Extraordinarily verbose .*…$/);
    expect(title.startsWith(prefix.slice(3, -1).trimEnd())).toBe(true);
    expect(countTokens(`${prefix}\n\n`)).toBeLessThanOrEqual(20);
    expect(chunk?.content.endsWith('\n\nBody text.')).toBe(true);
    expect(chunk?.heading).toBe(`# Top > ## ${title}`);
  });

  it('counts with the token counter it is given', () => {
    const seen: string[] = [];
    const tokenCounter = (text: string) => {
      seen.push(text);
      return countTokens(text);
    };
    const text = `# Title\n\n${longSection(2, 8)}`;
    const chunks = chunkDocument(text, { mimeType: 'text/markdown', maxTokens: 64, tokenCounter });
    expect(seen).toContain(chunks[0]?.content);
    expect(chunks).toEqual(chunkDocument(text, { mimeType: 'text/markdown', maxTokens: 64 }));
  });

  it('takes the smallest limit and refuses fractions and negatives', () => {
    expect(chunkDocument('Some words here.', { mimeType: 'text/plain', maxTokens: 16, overlapTokens: 0 })).toHaveLength(
      1,
    );
    expect(() => chunkDocument('x', { mimeType: 'text/plain', maxTokens: 15 })).toThrow(RangeError);
    expect(() => chunkDocument('x', { mimeType: 'text/plain', maxTokens: 100.5 })).toThrow(RangeError);
    expect(() => chunkDocument('x', { mimeType: 'text/plain', overlapTokens: 2.5 })).toThrow(RangeError);
  });
});
