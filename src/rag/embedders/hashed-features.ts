import { fnv1a } from '../../util/fnv1a.js';

const WORD = /[\p{L}\p{N}]+/gu;
/** Words too common to say what a text is about; they still join bigrams. */
const STOPWORDS = new Set(
  'a an and are as at be been but by can do does for from had has have how i if in into is it its my no not of on or our so than that the their them then there these they this to was we were what when where which who will with you your'.split(
    ' ',
  ),
);

/** Whole words say most; pairs add a little word order, trigrams word forms (index, indexes). */
const WEIGHT = { word: 1, bigram: 0.5, trigram: 0.4 } as const;

/** Reusable per-embedder scratch, so a call allocates little besides its result. */
export interface FeatureScratch {
  words: Map<number, number>;
  bigrams: Map<number, number>;
  trigrams: Map<number, number>;
}

export function createScratch(): FeatureScratch {
  return { words: new Map(), bigrams: new Map(), trigrams: new Map() };
}

const bump = (counts: Map<number, number>, key: string) => {
  const hash = fnv1a(key);
  counts.set(hash, (counts.get(hash) ?? 0) + 1);
};

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
  let previous: string | undefined;
  let previousStop = true;
  for (const word of text.toLowerCase().match(WORD) ?? []) {
    const stop = STOPWORDS.has(word);
    // "of the" says nothing; "the index" a little
    if (previous !== undefined && !(stop && previousStop)) bump(bigrams, `b ${previous} ${word}`);
    previous = word;
    previousStop = stop;
    if (stop) continue;
    bump(words, `w ${word}`);
    // boundary marks make prefixes and suffixes their own features (`<in`, `ex>`)
    const marked = `<${word}>`;
    for (let i = 0; i + 3 <= marked.length; i++) bump(trigrams, `c ${marked.slice(i, i + 3)}`);
  }
  // text with no words at all (empty, emoji, punctuation) still gets a stable unit vector
  if (words.size === 0 && bigrams.size === 0) bump(words, `t ${text.trim()}`);

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

function addAll(vector: Float64Array, counts: Map<number, number>, weight: number): void {
  const dimensions = vector.length;
  for (const [hash, tf] of counts) {
    const slot = (hash & 0x7fffffff) % dimensions;
    const sign = hash & 0x80000000 ? -1 : 1;
    vector[slot] = (vector[slot] as number) + sign * weight * (1 + Math.log(tf));
  }
}
