import { fnv1a } from '../util/fnv1a.js';
import { createFeatureCounts, type FeatureCounts } from './feature-counts.js';

const WORD = /[\p{L}\p{N}]+/gu;
/** Words too common to say what a text is about; they still join bigrams. */
const STOPWORDS = new Set(
  'a an and are as at be been but by can do does for from had has have how i if in into is it its my no not of on or our so than that the their them then there these they this to was we were what when where which who will with you your'.split(
    ' ',
  ),
);

/** Whole words say most; pairs add a little word order, trigrams word forms (index, indexes). */
const WEIGHT = { word: 1, bigram: 0.5, trigram: 0.4 } as const;

const FNV_PRIME = 0x01000193;
/** FNV-1a of `text[start, end)` continued from `hash`: a feature's key is hashed, never built. */
function fnvFrom(hash: number, text: string, start = 0, end = text.length): number {
  let h = hash;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}
const FNV_OFFSET = 0x811c9dc5;
// each kind of feature hashes as its tag and a space, then the feature: `w index`, `c <in`
const WORD_KEY = fnvFrom(FNV_OFFSET, 'w ');
const BIGRAM_KEY = fnvFrom(FNV_OFFSET, 'b ');
const TRIGRAM_KEY = fnvFrom(FNV_OFFSET, 'c ');
const TEXT_KEY = fnvFrom(FNV_OFFSET, 't ');

/** Reusable per-embedder scratch, so a call allocates little besides its result. */
export interface FeatureScratch {
  words: FeatureCounts;
  bigrams: FeatureCounts;
  trigrams: FeatureCounts;
}

export function createScratch(): FeatureScratch {
  return { words: createFeatureCounts(), bigrams: createFeatureCounts(), trigrams: createFeatureCounts() };
}

/**
 * Signed feature hashing of a text's lower-cased word unigrams, bigrams and in-word character
 * trigrams, weighted 1 + ln(tf) and L2-normalised. Each feature's hash picks the slot from its
 * low 31 bits and the sign from its top bit, so collisions cancel out on average.
 */
export function hashedVector(text: string, dimensions: number, scratch: FeatureScratch): number[] {
  const { words, bigrams, trigrams } = scratch;
  words.clear();
  bigrams.clear();
  trigrams.clear();
  let previousPair: number | undefined; // the hash of `b previous `
  let previousStop = true;
  for (const word of text.toLowerCase().match(WORD) ?? []) {
    const stop = STOPWORDS.has(word);
    // "of the" says nothing; "the index" a little
    if (previousPair !== undefined && !(stop && previousStop)) bigrams.add(fnvFrom(previousPair, word));
    previousPair = fnvFrom(fnvFrom(BIGRAM_KEY, word), ' ');
    previousStop = stop;
    if (stop) continue;
    words.add(fnvFrom(WORD_KEY, word));
    // boundary marks make prefixes and suffixes their own features (`<in`, `ex>`)
    const marked = `<${word}>`;
    for (let i = 0; i + 3 <= marked.length; i++) trigrams.add(fnvFrom(TRIGRAM_KEY, marked, i, i + 3));
  }
  // text with no words at all (empty, emoji, punctuation) still gets a stable unit vector
  if (words.size === 0 && bigrams.size === 0) words.add(fnvFrom(TEXT_KEY, text.trim()));

  const vector = new Float64Array(dimensions);
  addAll(vector, words, WEIGHT.word);
  addAll(vector, bigrams, WEIGHT.bigram);
  addAll(vector, trigrams, WEIGHT.trigram);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += (vector[i] as number) ** 2;
  norm = Math.sqrt(norm);
  const out = new Array<number>(dimensions).fill(0);
  if (norm === 0) {
    // features that cancelled out exactly: fall back to one slot picked by the whole text
    out[(fnv1a(text) & 0x7fffffff) % dimensions] = 1;
    return out;
  }
  for (let i = 0; i < dimensions; i++) out[i] = (vector[i] as number) / norm;
  return out;
}

function addAll(vector: Float64Array, counts: FeatureCounts, weight: number): void {
  const dimensions = vector.length;
  counts.forEach((hash, tf) => {
    const slot = (hash & 0x7fffffff) % dimensions;
    const sign = hash & 0x80000000 ? -1 : 1;
    vector[slot] = (vector[slot] as number) + sign * weight * (1 + Math.log(tf));
  });
}
