import { blockAtoms } from './atoms.js';
import { htmlToMarkdown } from './html-to-markdown.js';
import { markdownSections, plainSections } from './markdown-sections.js';
import { packAtoms } from './pack-atoms.js';
import { createTokenCounter, largestFitting, type TokenCounter } from './tokens.js';
import type { Chunk, ChunkOptions, Section } from './types.js';

const MIN_MAX_TOKENS = 16;

/**
 * Splits a document into token-bounded chunks for embedding. Markdown (and HTML, converted to
 * Markdown first) is cut into sections at headings, and every chunk of a section starts with the
 * section's heading path so that retrieval sees the context; long sections split at paragraphs,
 * then sentences, then words, and consecutive chunks of a section overlap by about
 * `overlapTokens`. Every chunk has text, at most `maxTokens` tokens (o200k), and the same input
 * always gives the same chunks.
 *
 * @example
 * chunkDocument('# Guide\n\n## Install\n\nRun npm i.', { mimeType: 'text/markdown' })
 * // [{ ordinal: 0, content: '# Guide > ## Install\n\nRun npm i.', tokenCount: 12, heading: '# Guide > ## Install' }]
 */
export function chunkDocument(text: string, options: ChunkOptions): Chunk[] {
  const maxTokens = options.maxTokens ?? 400;
  const overlapTokens = options.overlapTokens ?? 60;
  if (!Number.isInteger(maxTokens) || maxTokens < MIN_MAX_TOKENS)
    throw new RangeError(`maxTokens must be an integer of at least ${MIN_MAX_TOKENS}, got ${maxTokens}`);
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0)
    throw new RangeError(`overlapTokens must be a non-negative integer, got ${overlapTokens}`);

  const normalized = text.replace(/\r\n?/g, '\n');
  const source = options.mimeType === 'text/html' ? htmlToMarkdown(normalized) : normalized;
  const sections = options.mimeType === 'text/plain' ? plainSections(source) : markdownSections(source);

  // the sentences, chunks and overlaps of a document share most of their words
  const count = options.tokenCounter ?? createTokenCounter();
  const chunkAll = (all: Section[]) => all.flatMap((section) => chunkSection(section, maxTokens, overlapTokens, count));
  let chunks = chunkAll(sections);
  // Markdown of headings alone has no section with a body: keep its text rather than nothing
  if (chunks.length === 0) chunks = chunkAll(plainSections(source));
  return chunks.map((chunk, ordinal) => ({ ordinal, ...chunk }));
}

function chunkSection(
  section: Section,
  maxTokens: number,
  overlapTokens: number,
  count: TokenCounter,
): Omit<Chunk, 'ordinal'>[] {
  const prefix = section.heading === undefined ? undefined : fitHeading(section.heading, maxTokens, count);
  const frame = (body: string) => (prefix === undefined ? body : `${prefix}\n\n${body}`);
  const budget = maxTokens - count(frame(''));
  // a third at most, so that overlap plus a carried-over half chunk still leave room
  const overlap = Math.min(overlapTokens, Math.floor(budget / 3));
  // atoms leave room for the overlap, so that a long sentence cut in pieces still overlaps
  const atoms = blockAtoms(section.blocks, budget - overlap, count);
  const packed = packAtoms(atoms, { budget, overlap, maxTokens, frame, count });
  return packed.map((chunk) => (section.heading === undefined ? chunk : { ...chunk, heading: section.heading }));
}

/**
 * The heading path as the chunk prefix, within half the limit: the deepest heading alone when
 * the path is too long, cut short (with an ellipsis) when even that is.
 */
function fitHeading(path: string, maxTokens: number, count: TokenCounter): string {
  const limit = Math.floor(maxTokens / 2);
  const cost = (prefix: string) => count(`${prefix}\n\n`);
  if (cost(path) <= limit) return path;
  const deepest = path.split(' > ').at(-1) ?? path;
  if (cost(deepest) <= limit) return deepest;
  const chars = Array.from(deepest);
  const keep = largestFitting(0, chars.length, (n) => cost(`${chars.slice(0, n).join('')}…`) <= limit);
  return `${chars.slice(0, keep).join('')}…`;
}
