import { createRequire } from 'node:module';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';

type O200kCount = typeof import('gpt-tokenizer').countTokens;
type GptTokenizer = typeof import('gpt-tokenizer');
let o200k: O200kCount | undefined;

/** Entries of gpt-tokenizer's own cache of merged pieces (see o200kCounter). */
const MERGE_CACHE_PIECES = 1_000;

/**
 * gpt-tokenizer builds its o200k tables when it is loaded: about half a second of CPU in which
 * the event loop stands still. Loaded by the first count, that half second would stall every
 * stream in flight, so the server loads it while it starts (loadTokenizer, before it reports
 * ready); a process that never starts the server (a CLI, a worker) pays it on its first count.
 */
function o200kCounter(): O200kCount {
  if (o200k === undefined) {
    const tokenizer = createRequire(import.meta.url)('gpt-tokenizer') as GptTokenizer;
    // Its cache of merged pieces evicts its oldest entry (Map.delete, then keys().next()) once
    // full: each eviction walks past the entries deleted before it, up to the cache's size. At the
    // default 100,000, a megabyte of varied words, which fills it, counted 4-8x slower than with no
    // cache (measured). A small one keeps what it is good for: the slices of a long repeated run.
    tokenizer.setMergeCacheSize(MERGE_CACHE_PIECES);
    o200k = tokenizer.countTokens;
  }
  return o200k;
}

/** Loads the tokenizer now, once the event loop has turned (so I/O already started proceeds). */
export function loadTokenizer(): Promise<void> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        o200kCounter();
        resolve();
      } catch (error) {
        reject(error);
      }
    }),
  );
}

function countO200k(text: string, options: Parameters<O200kCount>[1]): number {
  return o200kCounter()(text, options);
}

// Text may quote `<|endoftext|>` and the like: count them as text instead of throwing.
const asPlainText = { disallowedSpecial: new Set<string>() };

/**
 * BPE takes time quadratic in a piece's length (100 KB of one word: tens of seconds), so a piece
 * longer than this is counted in slices of this size. Words of natural text are far shorter and
 * count exactly; a sliced run of base64 or repeated letters counts within a token or so per slice.
 */
export const MAX_PIECE_CHARS = 256;

/** o200k_base tokens of `text`: the one tokenizer chat budgets and chunking share. */
export function countTokens(text: string): number {
  if (text === '') return 0;
  if (!hasLongPiece(text)) return countO200k(text, asPlainText);
  let total = 0;
  forEachPiece(text, (piece) => {
    total += countPiece(piece);
  });
  return total;
}

/** Counts texts as countTokens does; see createTokenCounter. */
export type TokenCounter = (text: string) => number;

/** Longer pieces (a run of base64, a huge word being cut) rarely come back: not worth keeping. */
const MAX_KEPT_PIECE = 64;

/**
 * A countTokens for many texts that share words, such as the sentences, chunks and overlaps of
 * a document. o200k splits text into pieces (a word with the space before it, a run of digits or
 * punctuation) and encodes each on its own, so a text's count is the sum of its pieces' counts:
 * this remembers the count of each piece it meets, starting over after `maxPieces` of them, and
 * gives exactly what countTokens gives, in a fraction of the time once words repeat.
 */
export function createTokenCounter(maxPieces = 50_000): TokenCounter {
  const pieceCount = createPieceCounter(maxPieces);
  return (text) => {
    let total = 0;
    forEachPiece(text, (piece) => {
      total += pieceCount(piece);
    });
    return total;
  };
}

/** countPiece, remembering the counts of short pieces (starting over after `maxPieces`): see createTokenCounter. */
export function createPieceCounter(maxPieces = 50_000): (piece: string) => number {
  const counts = new Map<string, number>();
  return (piece) => {
    let count = counts.get(piece);
    if (count === undefined) {
      count = countPiece(piece);
      if (piece.length <= MAX_KEPT_PIECE) {
        if (counts.size >= maxPieces) counts.clear();
        counts.set(piece, count);
      }
    }
    return count;
  };
}

const pieces = new RegExp(O200K_TOKEN_SPLIT_REGEX); // a copy, with its own lastIndex

function forEachPiece(text: string, visit: (piece: string) => void): void {
  pieces.lastIndex = 0;
  for (let match = pieces.exec(text); match !== null; match = pieces.exec(text)) visit(match[0]);
}

function hasLongPiece(text: string): boolean {
  if (text.length <= MAX_PIECE_CHARS) return false;
  pieces.lastIndex = 0;
  for (let match = pieces.exec(text); match !== null; match = pieces.exec(text)) {
    if (match[0].length > MAX_PIECE_CHARS) return true;
  }
  return false;
}

/** A piece on its own splits into just itself, so this is its share of a text's count. */
export function countPiece(piece: string): number {
  if (piece.length <= MAX_PIECE_CHARS) return countO200k(piece, asPlainText);
  let total = 0;
  for (let start = 0; start < piece.length; ) {
    const end = sliceEnd(piece, start);
    total += countO200k(piece.slice(start, end), asPlainText);
    start = end;
  }
  return total;
}

/** Where countPiece ends the slice of a long piece that starts at `start`: never inside a surrogate pair. */
export function sliceEnd(piece: string, start: number): number {
  const end = Math.min(piece.length, start + MAX_PIECE_CHARS);
  return end < piece.length && isHighSurrogate(piece.charCodeAt(end - 1)) ? end - 1 : end;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
