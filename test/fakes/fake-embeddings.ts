import { fnv1a } from '../../src/util/fnv1a.js';
/**
 * Deterministic unit vectors seeded by the text: the same text always embeds the same way, different
 * texts almost never do. Values are float32-exact so JSON and base64 encodings decode to equal arrays.
 */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  let state = fnv1a(text);
  const raw = Array.from({ length: dimensions }, () => {
    // mulberry32: a tiny seeded PRNG, good enough to spread vectors apart
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  });
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.fround(x / norm));
}

/** OpenAI's `encoding_format: 'base64'`: little-endian float32 bytes. */
export function float32Base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
