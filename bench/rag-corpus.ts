import { chunkDocument } from '../src/rag/chunking/index.js';
import { createSeededRandom } from '../src/util/seeded-random.js';

/**
 * A deterministic synthetic corpus for the RAG benchmark: `TOPICS` topics, each with its own
 * vocabulary of pseudo-words, plus words every topic shares. A document is about one topic and
 * each of its sections leans towards a second one, so that chunks cluster by topic and, within
 * a topic, by section: a query has true neighbours, and the nearest ones are not all ties.
 */

export const TOPICS = 200;
const WORDS_PER_TOPIC = 40;
const COMMON_WORDS = 400;
/** Share of a section's words drawn from the document's topic, its second topic, and the common pool. */
const MIX = { topic: 0.55, second: 0.2 } as const;

/** mulberry32: the same sequence on every machine. */
export const prng = createSeededRandom;

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'dr', 'kl', 'st', 'tr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou'];
const CODAS = ['', '', 'n', 'r', 'l', 'x', 'm'];

export interface Vocabulary {
  topics: string[][];
  common: string[];
}

/** Unique pseudo-words of 2 to 4 syllables; none is an English word, so no stopword list drops one. */
export function vocabulary(seed = 1): Vocabulary {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  const seen = new Set<string>();
  const word = () => {
    for (;;) {
      const syllables = 2 + Math.floor(random() * 3);
      let w = '';
      for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
      if (!seen.has(w)) {
        seen.add(w);
        return w;
      }
    }
  };
  const topics = Array.from({ length: TOPICS }, () => Array.from({ length: WORDS_PER_TOPIC }, word));
  return { topics, common: Array.from({ length: COMMON_WORDS }, word) };
}

/** A Zipf-like pick: early words of a list come up far more often than late ones. */
function zipf(random: () => number, list: readonly string[]): string {
  return list[Math.floor(list.length * random() ** 2)] as string;
}

function sentence(random: () => number, vocab: Vocabulary, topic: number, second: number): string {
  const length = 8 + Math.floor(random() * 10);
  const words: string[] = [];
  for (let i = 0; i < length; i++) {
    const r = random();
    const list = r < MIX.topic ? vocab.topics[topic] : r < MIX.topic + MIX.second ? vocab.topics[second] : vocab.common;
    words.push(zipf(random, list as string[]));
  }
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

export interface SyntheticDocument {
  title: string;
  topic: number;
  /** Markdown: a title, then sections of a few paragraphs each. */
  content: string;
}

/** Sections per document: with 3 paragraphs each, about 100 chunks of at most 400 tokens. */
export const SECTIONS = 32;

/** The second topic of each section of document `index`: drawn apart from the text, so queries can aim at a section. */
export function sectionTopics(seed: number, index: number): number[] {
  const random = prng(seed * 7_919 + index * 104_729 + 1);
  const topic = index % TOPICS;
  return Array.from({ length: SECTIONS }, () => (topic + 1 + Math.floor(random() * (TOPICS - 1))) % TOPICS);
}

/** Document `index` of the corpus seeded by `seed`: the same arguments give the same text. */
export function syntheticDocument(vocab: Vocabulary, seed: number, index: number): SyntheticDocument {
  const random = prng(seed * 1_000_003 + index);
  const topic = index % TOPICS;
  const lines = [`# ${vocab.topics[topic]?.[0]} ${index}`];
  for (const [s, second] of sectionTopics(seed, index).entries()) {
    lines.push('', `## ${zipf(random, vocab.topics[second] as string[])} ${s}`);
    for (let p = 0; p < 3; p++) {
      const count = 4 + Math.floor(random() * 4);
      lines.push('', Array.from({ length: count }, () => sentence(random, vocab, topic, second)).join(' '));
    }
  }
  return { title: `synthetic ${index} (topic ${topic})`, topic, content: lines.join('\n') };
}

/**
 * Held-out queries: four distinct words drawn from one paragraph of a corpus document (among the
 * first `documents`), with a seed the text never uses. No query is a stored chunk, yet every one
 * has a chunk holding all its words (a paragraph fits in one chunk), so KEYWORD finds something
 * and VECTOR has true neighbours in the paragraph's section and topic.
 */
export function syntheticQueries(vocab: Vocabulary, seed: number, count: number, documents: number): string[] {
  const random = prng(seed ^ 0x5bd1e995);
  return Array.from({ length: count }, () => {
    const doc = syntheticDocument(vocab, seed, Math.floor(random() * documents));
    const paragraphs = doc.content.split('\n\n').filter((p) => !p.startsWith('#'));
    const words = (paragraphs[Math.floor(random() * paragraphs.length)] ?? '').toLowerCase().match(/\p{L}+/gu) ?? [];
    const picked = new Set<string>();
    while (picked.size < Math.min(4, new Set(words).size))
      picked.add(words[Math.floor(random() * words.length)] as string);
    return [...picked].join(' ');
  });
}

/**
 * Held-out passages: one chunk from each of `count` documents past the end of the corpus (same
 * topics, never loaded), as a query the size and shape of a stored chunk.
 */
export function heldOutPassages(vocab: Vocabulary, seed: number, count: number, firstIndex: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const chunks = chunkDocument(syntheticDocument(vocab, seed, firstIndex + i).content, { mimeType: 'text/markdown' });
    return chunks[i % chunks.length]?.content ?? '';
  });
}
