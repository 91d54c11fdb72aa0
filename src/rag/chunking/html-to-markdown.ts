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
 * a line (`#`, a fence) is escaped so that only real headings start sections. One pass over a
 * streaming parser, in time linear in the input and at any nesting depth (uploads are hostile).
 */
export function htmlToMarkdown(html: string): string {
  const out = createOutput();
  let skipDepth = 0;
  let heading = false;
  let preDepth = 0;
  let preStart: OutputMark | undefined;
  const lists: { ordered: boolean; count: number }[] = [];

  // a heading stays on one line, and a paragraph opening a list item on the marker's line
  const breakLine = (gap: '\n' | '\n\n') => {
    if (heading) out.add(' ');
    else if (gap === '\n') out.add(out.atLineStart() ? '' : '\n');
    else if (!out.onlyListMarker()) out.add(gap);
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
          out.add(`${'#'.repeat(Number(level))} `);
          heading = true;
        } else if (name === 'pre') {
          if (preDepth++ === 0) {
            breakLine('\n\n');
            preStart = out.mark();
          }
        } else if (name === 'ul' || name === 'ol') {
          breakLine('\n\n');
          lists.push({ ordered: name === 'ol', count: 0 });
        } else if (name === 'li') {
          const list = lists.at(-1);
          breakLine('\n');
          out.add(list?.ordered ? `${++list.count}. ` : '- ');
        } else if (name === 'br') breakLine('\n');
        else if (name === 'td' || name === 'th') out.add(' ');
        else if (PARAGRAPH.has(name)) breakLine('\n\n');
        else if (LINE.has(name)) breakLine('\n');
      },
      ontext(text) {
        if (skipDepth > 0) return;
        if (preDepth > 0) {
          out.add(text);
          return;
        }
        const collapsed = text.replace(/\s+/g, ' ');
        out.add(
          !heading && out.atLineStart() && /^\s*(?:#|```|~~~)/.test(collapsed)
            ? `\\${collapsed.trimStart()}`
            : collapsed,
        );
      },
      onclosetag(name) {
        if (skipDepth > 0) {
          skipDepth--;
          return;
        }
        if (/^h[1-6]$/.test(name) && heading) {
          heading = false;
          out.add('\n\n');
        } else if (name === 'pre' && --preDepth === 0 && preStart) {
          out.rewriteFrom(preStart, fenced);
          out.add('\n\n');
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
  return tidy(out.text());
}

/** A place in the output to rewrite from (the start of a `<pre>`). */
interface OutputMark {
  parts: number;
  line: LineState;
}

interface LineState {
  /** The current line (since the last newline) is empty or spaces only. */
  blank: boolean;
  /** The current line without its leading whitespace, while short enough to be a list marker; else undefined. */
  short: string | undefined;
}

/** Longest line (after its indentation) still checked for being a bare list marker (`- `, `12. `). */
const MARKER_LINE_MAX = 32;

/**
 * The Markdown being written, as pieces plus what is known of its current line, so that no step
 * rereads or copies what came before: appending to one growing string and looking back into it
 * made a 1 MB page take a minute.
 */
function createOutput() {
  const parts: string[] = [];
  let line: LineState = { blank: true, short: '' };
  const add = (text: string) => {
    if (text === '') return;
    parts.push(text);
    const newline = text.lastIndexOf('\n');
    const rest = newline < 0 ? text : text.slice(newline + 1);
    const before = newline < 0 ? line : { blank: true, short: '' };
    let short: string | undefined;
    if (before.short !== undefined) {
      const joined = before.short === '' ? rest.trimStart() : before.short + rest;
      short = joined.length <= MARKER_LINE_MAX ? joined : undefined;
    }
    line = { blank: before.blank && /^ *$/.test(rest), short };
  };
  return {
    add,
    /** Nothing but spaces since the last newline (or the start). */
    atLineStart: () => line.blank,
    /** The current line is a list item's marker and nothing else yet. */
    onlyListMarker: () => line.short !== undefined && /^(?:- |\d+\. )$/.test(line.short),
    mark: (): OutputMark => ({ parts: parts.length, line }),
    /** Replaces everything written since `mark` with `rewrite` of it. */
    rewriteFrom(mark: OutputMark, rewrite: (written: string) => string) {
      const written = parts.splice(mark.parts).join('');
      line = mark.line;
      add(rewrite(written));
    },
    text: () => parts.join(''),
  };
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
