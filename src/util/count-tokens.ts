import { countTokens as countO200k } from 'gpt-tokenizer';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';

// Text may quote `<|endoftext|>` and the like: count them as text instead of throwing.
const asPlainText = { disallowedSpecial: new Set<string>() };

/** o200k_base tokens of `text`: the one tokenizer chat budgets and chunking share. */
export function countTokens(text: string): number {
  return text === '' ? 0 : countO200k(text, asPlainText);
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
  const counts = new Map<string, number>();
  const pieces = new RegExp(O200K_TOKEN_SPLIT_REGEX); // a copy, with its own lastIndex
  return (text) => {
    let total = 0;
    pieces.lastIndex = 0;
    for (let match = pieces.exec(text); match !== null; match = pieces.exec(text)) {
      const piece = match[0];
      let count = counts.get(piece);
      if (count === undefined) {
        // a piece on its own splits into just itself, so this is its share of the text's count
        count = countO200k(piece, asPlainText);
        if (piece.length <= MAX_KEPT_PIECE) {
          if (counts.size >= maxPieces) counts.clear();
          counts.set(piece, count);
        }
      }
      total += count;
    }
    return total;
  };
}
