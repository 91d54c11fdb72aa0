import { describe, expect, it } from 'vitest';
import { chunkDocument, htmlToMarkdown } from '../../src/rag/chunking/index.js';

const page = `<!doctype html>
<html><head><title>Ignored title</title><style>p { color: red }</style>
<script>window.secret = "do not index";</script></head>
<body>
  <nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
  <h1>Fish &amp; Chips</h1>
  <p>Batter the cod&nbsp;fillets &mdash; then fry at 180&deg;C. Caf&eacute; style &lt;crispy&gt;.</p>
  <h2>Sides</h2>
  <ul><li>Mushy peas</li><li><p>Tartare sauce</p></li></ul>
  <ol><li>Salt</li><li>Vinegar</li></ol>
  <pre><code>
# fry.sh
if [ "$oil" -gt 170 ]; then fry; fi
</code></pre>
  <p># a literal hash, not a heading</p>
  <script>console.log("also dropped")</script>
</body></html>`;

describe('chunkDocument (HTML)', () => {
  it('converts to Markdown: headings, paragraphs, lists, code; scripts, styles and nav dropped', () => {
    expect(htmlToMarkdown(page)).toBe(
      [
        '# Fish & Chips',
        '',
        'Batter the cod fillets — then fry at 180°C. Café style <crispy>.',
        '',
        '## Sides',
        '',
        '- Mushy peas',
        '- Tartare sauce',
        '',
        '1. Salt',
        '2. Vinegar',
        '',
        '```',
        '# fry.sh',
        'if [ "$oil" -gt 170 ]; then fry; fi',
        '```',
        '',
        '\\# a literal hash, not a heading',
      ].join('\n'),
    );
  });

  it('chunks by the converted headings with entities decoded', () => {
    const chunks = chunkDocument(page, { mimeType: 'text/html' });
    expect(chunks.map((c) => c.heading)).toEqual(['# Fish & Chips', '# Fish & Chips > ## Sides']);
    expect(chunks[0]?.content).toBe(
      '# Fish & Chips\n\nBatter the cod fillets — then fry at 180°C. Café style <crispy>.',
    );
    const all = chunks.map((c) => c.content).join('\n');
    for (const dropped of ['secret', 'also dropped', 'Home', 'Ignored title', 'color: red', '&amp;', '&lt;'])
      expect(all).not.toContain(dropped);
    expect(chunks[1]?.content).toContain('```\n# fry.sh\n');
  });

  it('gives HTML without headings one untitled chunk', () => {
    expect(chunkDocument('<div>Just <b>bold</b> text.</div>', { mimeType: 'text/html' })).toEqual([
      { ordinal: 0, content: 'Just bold text.', tokenCount: 4 },
    ]);
  });
});
