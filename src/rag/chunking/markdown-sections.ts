import type { Block, Section } from './types.js';

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;

interface OpenFence {
  marker: string;
  lines: string[];
}

/**
 * Splits Markdown into sections at ATX headings (`#` to `######`), each named by its heading
 * path (`# Guide > ## Install`). Lines inside fenced code blocks are never headings, and a
 * fenced block stays one block, blank lines and all.
 */
export function markdownSections(markdown: string): Section[] {
  const sections: Section[] = [];
  const path: { level: number; title: string }[] = [];
  let current: Section = { blocks: [] };
  let paragraph: string[] = [];
  let fence: OpenFence | undefined;

  const endParagraph = () => {
    if (paragraph.length > 0) current.blocks.push({ text: paragraph.join('\n'), code: false });
    paragraph = [];
  };

  for (const line of markdown.split('\n')) {
    if (fence) {
      fence.lines.push(line);
      if (closesFence(line, fence.marker)) {
        current.blocks.push({ text: fence.lines.join('\n'), code: true });
        fence = undefined;
      }
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    // a backtick fence's info string may not hold backticks (CommonMark)
    if (open?.[1] && !(open[1].startsWith('`') && open[2]?.includes('`'))) {
      endParagraph();
      fence = { marker: open[1], lines: [line] };
      continue;
    }
    const heading = ATX_HEADING.exec(line);
    if (heading?.[1]) {
      endParagraph();
      if (current.blocks.length > 0) sections.push(current);
      const level = heading[1].length;
      while ((path.at(-1)?.level ?? 0) >= level) path.pop();
      path.push({ level, title: (heading[2] ?? '').trim() });
      current = { heading: path.map((h) => `${'#'.repeat(h.level)} ${h.title}`.trimEnd()).join(' > '), blocks: [] };
      continue;
    }
    if (line.trim() === '') endParagraph();
    else paragraph.push(line);
  }
  // an unclosed fence runs to the end of the document, as in CommonMark
  if (fence) current.blocks.push({ text: fence.lines.join('\n'), code: true });
  endParagraph();
  if (current.blocks.length > 0) sections.push(current);
  return sections;
}

function closesFence(line: string, marker: string): boolean {
  const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line)?.[1];
  return close !== undefined && close[0] === marker[0] && close.length >= marker.length;
}

/** Plain text: one untitled section of blank-line separated paragraphs. */
export function plainSections(text: string): Section[] {
  const blocks: Block[] = text
    .split(/\n[ \t]*\n/)
    .filter((p) => p.trim() !== '')
    .map((p) => ({ text: p, code: false }));
  return blocks.length > 0 ? [{ blocks }] : [];
}
