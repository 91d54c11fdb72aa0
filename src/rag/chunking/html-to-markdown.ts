import { Parser } from 'htmlparser2';

/** Elements whose content is not document text. */
const SKIPPED = new Set([
  'script',
  'style',
  'nav',
  'noscript',
  'template',
  'head',
  'svg',
  'math',
  'iframe',
  'object',
  'canvas',
  'select',
  'button',
]);
const PARAGRAPH = new Set(
  'address article aside blockquote body details dialog div dl fieldset figcaption figure footer form header hr html main p section summary table ul ol'.split(
    ' ',
  ),
);
const LINE = new Set(['tr', 'dt', 'dd', 'caption', 'thead', 'tbody', 'tfoot']);

/**
 * HTML to the Markdown the chunker reads: headings become `#` headings, blocks become
 * paragraphs, list items `- ` or `1. ` lines, `<pre>` a fenced block; entities are decoded and
 * scripts, styles and navigation dropped. Text that would read as Markdown syntax at the start of
 * a line (`#`, a fence) is escaped so that only real headings start sections.
 */
export function htmlToMarkdown(html: string): string {
  let out = '';
  let skipDepth = 0;
  let heading = false;
  let preDepth = 0;
  let preStart = 0;
  const lists: { ordered: boolean; count: number }[] = [];

  const lineStart = () => {
    let i = out.length - 1;
    while (i >= 0 && out[i] === ' ') i--;
    return i < 0 || out[i] === '\n';
  };
  // a heading stays on one line, and a paragraph opening a list item on the marker's line
  const breakLine = (gap: '\n' | '\n\n') => {
    if (heading) out += ' ';
    else if (gap === '\n') out += lineStart() ? '' : '\n';
    else if (!/^\s*(?:- |\d+\. )$/.test(out.slice(out.lastIndexOf('\n') + 1))) out += gap;
  };

  const parser = new Parser(
    {
      onopentag(name) {
        if (skipDepth > 0 || SKIPPED.has(name)) {
          skipDepth++;
          return;
        }
        const level = /^h([1-6])$/.exec(name)?.[1];
        if (level && preDepth === 0) {
          breakLine('\n\n');
          out += `${'#'.repeat(Number(level))} `;
          heading = true;
        } else if (name === 'pre') {
          if (preDepth++ === 0) {
            breakLine('\n\n');
            preStart = out.length;
          }
        } else if (name === 'ul' || name === 'ol') {
          breakLine('\n\n');
          lists.push({ ordered: name === 'ol', count: 0 });
        } else if (name === 'li') {
          const list = lists.at(-1);
          breakLine('\n');
          out += list?.ordered ? `${++list.count}. ` : '- ';
        } else if (name === 'br') breakLine('\n');
        else if (name === 'td' || name === 'th') out += ' ';
        else if (PARAGRAPH.has(name)) breakLine('\n\n');
        else if (LINE.has(name)) breakLine('\n');
      },
      ontext(text) {
        if (skipDepth > 0) return;
        if (preDepth > 0) {
          out += text;
          return;
        }
        const collapsed = text.replace(/\s+/g, ' ');
        out +=
          !heading && lineStart() && /^\s*(?:#|```|~~~)/.test(collapsed) ? `\\${collapsed.trimStart()}` : collapsed;
      },
      onclosetag(name) {
        if (skipDepth > 0) {
          skipDepth--;
          return;
        }
        if (/^h[1-6]$/.test(name) && heading) {
          heading = false;
          out += '\n\n';
        } else if (name === 'pre' && --preDepth === 0) {
          out = out.slice(0, preStart) + fenced(out.slice(preStart));
          out += '\n\n';
        } else if (name === 'ul' || name === 'ol') {
          lists.pop();
          breakLine('\n\n');
        } else if (name === 'li') breakLine('\n');
        else if (PARAGRAPH.has(name)) breakLine('\n\n');
        else if (LINE.has(name)) breakLine('\n');
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return tidy(out);
}

/** A fenced block longer than any backtick run in the code, so the code cannot close it. */
function fenced(code: string): string {
  const body = code.replace(/^\n/, '').trimEnd();
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `\n\n${fence}\n${body}\n${fence}`;
}

/** Trims lines and collapses blank runs outside code blocks; code is left as it was. */
function tidy(markdown: string): string {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    if (fence !== undefined) {
      lines.push(line);
      if (line === fence) fence = undefined;
      continue;
    }
    const text = line.trim();
    if (/^`{3,}$/.test(text)) fence = text;
    if (text !== '' || (lines.length > 0 && lines.at(-1) !== '')) lines.push(text);
  }
  return lines.join('\n').trim();
}
