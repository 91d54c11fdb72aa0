import { type Atom, splitLong } from './atoms.js';
import { overlapTail } from './overlap-tail.js';
import type { TokenCounter } from './tokens.js';

export interface PackOptions {
  /** Tokens available to the body (the limit less the heading prefix). */
  budget: number;
  overlap: number;
  /** The hard limit, checked on the rendered chunk. */
  maxTokens: number;
  /** The chunk's full text for a rendered body. */
  frame: (body: string) => string;
  count: TokenCounter;
}

export interface PackedChunk {
  content: string;
  tokenCount: number;
}

/** The body: atoms joined by their separators (the first one's is dropped). */
export function renderAtoms(atoms: readonly Atom[]): string {
  return atoms
    .map((a, i) => (i === 0 ? a.text : a.sep + a.text))
    .join('')
    .trimEnd();
}

/** An upper-bound estimate: separators rarely cost more than one token, and joins only merge. */
function estimate(atoms: readonly Atom[]): number {
  return atoms.reduce((sum, a, i) => sum + a.tokens + (i > 0 && a.sep !== '' ? 1 : 0), 0);
}

/**
 * Packs atoms greedily into chunks. A full chunk ends at the last paragraph boundary that leaves
 * it at least half full, else the last sentence boundary, else where it filled; the next chunk
 * starts with the tail of the previous one (the overlap), which is never emitted on its own.
 */
export function packAtoms(atoms: readonly Atom[], options: PackOptions): PackedChunk[] {
  const chunks: PackedChunk[] = [];
  let current: Atom[] = [];
  let overlapCount = 0;
  let size = 0;

  const close = (end: number) => {
    const emitted = emit(current, overlapCount, end, options);
    chunks.push(emitted.chunk);
    const tail = overlapTail(current.slice(emitted.start, emitted.end), options.overlap, options.count);
    current = [...tail, ...current.slice(emitted.end)];
    overlapCount = tail.length;
    size = estimate(current);
  };

  for (const atom of atoms) {
    for (;;) {
      const cost = atom.tokens + (current.length > 0 && atom.sep !== '' ? 1 : 0);
      // an atom alone always goes in: atoms are cut to fit, and emit() cuts finer if not
      if (size + cost <= options.budget || current.length === 0) {
        current.push(atom);
        size += cost;
        break;
      }
      if (current.length > overlapCount) close(breakPoint(current, overlapCount, atom, options.budget));
      else {
        // only carried-over text: shrink the overlap to make room
        current.shift();
        overlapCount--;
        size = estimate(current);
      }
    }
  }
  while (current.length > overlapCount) close(current.length);
  return chunks;
}

/** Where to end a full chunk: see packAtoms. */
function breakPoint(current: readonly Atom[], overlapCount: number, next: Atom, budget: number): number {
  for (const level of [2, 1] as const) {
    if (next.level >= level) return current.length;
    let size = estimate(current);
    for (let p = current.length - 1; p > overlapCount; p--) {
      const atom = current[p] as Atom;
      size -= atom.tokens + (atom.sep !== '' ? 1 : 0);
      if (size < budget / 2) break;
      if (atom.level >= level) return p;
    }
  }
  return current.length;
}

/**
 * Renders `current[0, end)` and checks the real token count; over the limit (which the estimate
 * makes rare) it gives back atoms, then overlap, then splits a lone atom finer (in `current`).
 * The chunk is `current[start, end)`.
 */
function emit(
  current: Atom[],
  overlapCount: number,
  end: number,
  options: PackOptions,
): { chunk: PackedChunk; start: number; end: number } {
  let start = 0;
  for (;;) {
    const atoms = current.slice(start, end);
    const content = options.frame(renderAtoms(atoms));
    const tokenCount = options.count(content);
    if (tokenCount <= options.maxTokens) return { chunk: { content, tokenCount }, start, end };
    if (end - 1 > Math.max(start, overlapCount)) end--;
    else if (start < overlapCount) start++;
    else {
      const lone = current[start] as Atom;
      const finer = splitLong(lone.text, Math.max(1, Math.floor(lone.tokens / 2)), options.count);
      if (finer.length < 2) throw new Error('Chunking cannot fit a single character under maxTokens');
      finer[0] = { ...(finer[0] as Atom), sep: lone.sep, level: lone.level };
      current.splice(start, 1, ...finer);
      end = start + 1;
    }
  }
}
