import { describe, expect, it } from 'vitest';
import { htmlToMarkdown } from './html-to-markdown.js';

describe('htmlToMarkdown', () => {
  it('turns headings, paragraphs and line breaks into Markdown blocks', () => {
    expect(htmlToMarkdown('<h2>Title <b>bold</b></h2><p>One<br>two</p><div>Three</div>')).toBe(
      '## Title bold\n\nOne\ntwo\n\nThree',
    );
  });

  it('numbers ordered lists, keeps a paragraph in an item on its marker line, and nests', () => {
    expect(htmlToMarkdown('<ol><li><p>First</p></li><li>Second<ul><li>inner</li></ul></li></ol><p>after</p>')).toBe(
      '1. First\n\n2. Second\n\n- inner\n\nafter', // the closing </p> leaves a blank line
    );
    // indentation before the marker (table cells add spaces) still counts as the marker's line
    expect(htmlToMarkdown(`<ul>${'<td></td>'.repeat(40)}<li><p>item</p></li></ul>`)).toBe('- item');
  });

  it('fences <pre> with more backticks than the code holds, and leaves the code as it was', () => {
    expect(htmlToMarkdown('<pre>a ``` b\n  indented</pre>')).toBe('````\na ``` b\n  indented\n````');
  });

  it('escapes text that would read as a heading or a fence at the start of a line, not inside a heading', () => {
    expect(htmlToMarkdown('<p># not a heading</p><p>``` not a fence</p><h1>#1 # ok</h1>')).toBe(
      '\\# not a heading\n\n\\``` not a fence\n\n# #1 # ok',
    );
  });

  it('drops scripts, styles, navigation and other non-text elements, however deeply nested', () => {
    expect(htmlToMarkdown('<nav><p>menu<script>x()</script></p></nav><p>kept</p><svg><text>no</text></svg>')).toBe(
      'kept',
    );
    expect(htmlToMarkdown('<script>only()</script><style>a{}</style>')).toBe('');
  });

  it('takes hostile nesting and unclosed tags without running out of stack', () => {
    const depth = 20_000;
    expect(htmlToMarkdown(`${'<div>'.repeat(depth)}deep${'</div>'.repeat(depth)}`)).toBe('deep');
    expect(htmlToMarkdown(`${'<b><i>'.repeat(depth)}open`)).toBe('open');
    expect(htmlToMarkdown(`${'<ul><li>'.repeat(1_000)}leaf`).endsWith('- leaf')).toBe(true);
  });

  it('writes in time linear in the page: megabytes of paragraphs, or one paragraph of megabytes', () => {
    // Appending to one string and looking back into it made each of these take minutes.
    const paragraph = `<p>${'word <b>bold</b> '.repeat(100)}</p>\n`;
    const page = paragraph.repeat(2_000); // 3.4 MB
    const markdown = htmlToMarkdown(page);
    expect(markdown.split('\n\n')).toHaveLength(2_000);
    const long = htmlToMarkdown(`<p>${'word <i>it</i> '.repeat(200_000)}</p>`);
    expect(long).toHaveLength('word it '.length * 200_000 - 1);
  });
});
