import { describe, expect, it } from 'vitest';
import { markdownSections, plainSections } from './markdown-sections.js';

const md = (...lines: string[]) => lines.join('\n');
const p = (text: string) => ({ text, code: false });
const fenced = (text: string) => ({ text, code: true });

describe('markdownSections: headings', () => {
  it('names each section by its heading path, popping back to the parent level', () => {
    const sections = markdownSections(
      md('# Guide', 'Intro.', '## Install', 'Run it.', '### Docker', 'Build.', '## Use', 'Query.', '# Next', 'More.'),
    );
    expect(sections.map((s) => s.heading)).toEqual([
      '# Guide',
      '# Guide > ## Install',
      '# Guide > ## Install > ### Docker',
      '# Guide > ## Use',
      '# Next',
    ]);
    expect(sections[1]?.blocks).toEqual([p('Run it.')]);
  });

  it('keeps a skipped level out of the path and replaces a sibling at the same level', () => {
    const sections = markdownSections(md('# A', '### C', 'under C', '## B', 'under B', '## B2', 'under B2'));
    expect(sections.map((s) => s.heading)).toEqual(['# A > ### C', '# A > ## B', '# A > ## B2']);
  });

  it('reads ATX headings as CommonMark does: closing hashes, indentation, a space after the hashes', () => {
    const sections = markdownSections(
      md(
        '   ## Closed ##  ',
        'a',
        '#hashtag is text',
        '    # indented four is not a heading',
        '####### seven',
        '#',
        'b',
      ),
    );
    expect(sections).toEqual([
      {
        heading: '## Closed',
        blocks: [p('a\n#hashtag is text\n    # indented four is not a heading\n####### seven')],
      },
      { heading: '#', blocks: [p('b')] },
    ]);
  });

  it('drops headings without a body but keeps them in the path of what follows', () => {
    const sections = markdownSections(md('# Book', '## Part', '### Chapter', 'Text.'));
    expect(sections).toEqual([{ heading: '# Book > ## Part > ### Chapter', blocks: [p('Text.')] }]);
  });

  it('gives text before the first heading a section without a heading', () => {
    expect(markdownSections(md('Preface.', '', '# Title', 'Body.'))).toEqual([
      { blocks: [p('Preface.')] },
      { heading: '# Title', blocks: [p('Body.')] },
    ]);
  });

  it('splits paragraphs at blank lines, whitespace-only lines included', () => {
    expect(markdownSections(md('one', 'still one', ' \t ', 'two', '', '', 'three'))).toEqual([
      { blocks: [p('one\nstill one'), p('two'), p('three')] },
    ]);
  });

  it('gives nothing for empty input or headings alone', () => {
    expect(markdownSections('')).toEqual([]);
    expect(markdownSections('# Only\n## Headings')).toEqual([]);
  });
});

describe('markdownSections: fenced code', () => {
  it('keeps a fence one block, blank lines and heading-like lines included, and ends the paragraph before it', () => {
    const sections = markdownSections(
      md('# Code', 'Before', '```bash', '# comment', '', '## not a heading', '```', 'After'),
    );
    expect(sections).toEqual([
      {
        heading: '# Code',
        blocks: [p('Before'), fenced('```bash\n# comment\n\n## not a heading\n```'), p('After')],
      },
    ]);
  });

  it('closes a fence only with the same character, at least as long, with nothing after it', () => {
    const text = md('````md', '```', '~~~', '```` trailing', '````', 'out');
    expect(markdownSections(text)).toEqual([{ blocks: [fenced('````md\n```\n~~~\n```` trailing\n````'), p('out')] }]);
    expect(markdownSections(md('~~~', '```', '# inside', '~~~~', '# Outside', 'x'))).toEqual([
      { blocks: [fenced('~~~\n```\n# inside\n~~~~')] },
      { heading: '# Outside', blocks: [p('x')] },
    ]);
  });

  it('does not open a backtick fence whose info string holds a backtick', () => {
    expect(markdownSections(md('``` a`b', '# Heading', 'x'))).toEqual([
      { blocks: [p('``` a`b')] },
      { heading: '# Heading', blocks: [p('x')] },
    ]);
  });

  it('runs an unclosed fence to the end of the document', () => {
    expect(markdownSections(md('text', '```', '# not a heading', '', 'code'))).toEqual([
      { blocks: [p('text'), fenced('```\n# not a heading\n\ncode')] },
    ]);
  });
});

describe('plainSections', () => {
  it('is one untitled section of paragraphs; # starts no heading', () => {
    expect(plainSections('# not a heading\nline two\n \t\nnext\n\n\n\nlast')).toEqual([
      { blocks: [p('# not a heading\nline two'), p('next'), p('last')] },
    ]);
  });

  it('gives nothing for blank text', () => {
    expect(plainSections(' \n\n\t')).toEqual([]);
  });
});
