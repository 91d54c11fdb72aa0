import { describe, expect, it } from 'vitest';
import { type Chunk, chunkDocument } from '../../src/rag/chunking/index.js';
import { countTokens } from '../../src/rag/chunking/tokens.js';
import { longSection, sharedEdge } from './chunk-helpers.js';

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
