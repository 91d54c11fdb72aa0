import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cosine, createLocalEmbedder } from '../../src/embeddings/index.js';

const topics = {
  cooking: [
    'Simmer the tomato sauce with garlic and basil, then toss it with fresh pasta.',
    'Roast the garlic, stir it into the tomato sauce and serve over pasta with basil.',
  ],
  astronomy: [
    'The telescope captured a distant galaxy whose light left its stars billions of years ago.',
    'Astronomers measured the redshift of the galaxy to estimate how far away its stars are.',
  ],
  databases: [
    'A Postgres index on the user_id column lets the query planner choose an index scan.',
    'Adding a B-tree index to the table lets Postgres answer the query without a sequential scan.',
  ],
};
type Topic = keyof typeof topics;
const names = Object.keys(topics) as Topic[];

describe('createLocalEmbedder', () => {
  const embedder = createLocalEmbedder();

  it('makes unit vectors of the configured length, the same every time', async () => {
    expect(embedder.model).toBe('local/hash-384');
    expect(embedder.dimensions).toBe(384);
    const texts = ['Hello world', '', '🚀🚀', 'Hello world'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(4);
    for (const v of vectors) {
      expect(v).toHaveLength(384);
      expect(Math.hypot(...v)).toBeCloseTo(1, 10);
    }
    expect(vectors[3]).toEqual(vectors[0]);
    expect(await createLocalEmbedder().embed(texts)).toEqual(vectors);
    expect(await embedder.embed([])).toEqual([]);

    const small = createLocalEmbedder({ dimensions: 64 });
    expect(small.model).toBe('local/hash-64');
    expect((await small.embed(['Hello world']))[0]).toHaveLength(64);
  });

  it('scores texts on one topic clearly closer than texts on different topics', async () => {
    const vectors = Object.fromEntries(
      await Promise.all(names.map(async (topic) => [topic, await embedder.embed(topics[topic])] as const)),
    ) as Record<Topic, number[][]>;
    const pairs = (a: Topic, b: Topic) => {
      const [a0, a1] = vectors[a] as [number[], number[]];
      const [b0, b1] = vectors[b] as [number[], number[]];
      return a === b ? [cosine(a0, a1)] : [cosine(a0, b0), cosine(a0, b1), cosine(a1, b0), cosine(a1, b1)];
    };
    const weakestWithin = Math.min(...names.flatMap((t) => pairs(t, t)));
    const strongestAcross = Math.max(...names.flatMap((a) => names.filter((b) => b !== a).flatMap((b) => pairs(a, b))));
    expect(weakestWithin).toBeGreaterThan(0.15);
    expect(strongestAcross).toBeLessThan(0.1);
    expect(weakestWithin - strongestAcross).toBeGreaterThan(0.1);
  });

  it("ranks the database texts first for the query 'postgres index'", async () => {
    const documents = names.flatMap((topic) => topics[topic].map((text) => ({ topic, text })));
    const [query] = await embedder.embed(['postgres index']);
    const vectors = await embedder.embed(documents.map((d) => d.text));
    const ranked = documents
      .map((d, i) => ({ topic: d.topic, score: cosine(query as number[], vectors[i] as number[]) }))
      .sort((a, b) => b.score - a.score);
    expect(ranked.slice(0, 2).map((r) => r.topic)).toEqual(['databases', 'databases']);
    expect((ranked[1]?.score ?? 0) - (ranked[2]?.score ?? 0)).toBeGreaterThan(0.15);
  });

  it('shares character trigrams between forms of a word', async () => {
    const [index, indexes, galaxy] = await embedder.embed(['indexing', 'indexes', 'galaxies']);
    expect(cosine(index as number[], indexes as number[])).toBeGreaterThan(
      cosine(index as number[], galaxy as number[]) + 0.2,
    );
  });

  it('is fast: prints short texts per second on one core', async () => {
    const texts = Array.from({ length: 20_000 }, (_, i) => `note ${i}: the postgres index speeds up lookups by id`);
    await embedder.embed(texts.slice(0, 1000)); // warm up
    const started = performance.now();
    const cpu = process.cpuUsage();
    const vectors = await embedder.embed(texts);
    const { user, system } = process.cpuUsage(cpu);
    const perSecond = (seconds: number) => Math.round(texts.length / seconds).toLocaleString('en');
    expect(vectors).toHaveLength(texts.length);
    // CPU time as well as wall time: the figure stays meaningful on a busy machine
    console.log(
      `local/hash-384: ${perSecond((performance.now() - started) / 1000)} short texts/s wall, ` +
        `${perSecond((user + system) / 1e6)} per CPU second`,
    );
  });

  it('gives exactly the vectors it always gave: stored embeddings depend on every bit', async () => {
    const long = Array.from({ length: 300 }, (_, i) => `term${i * 7919} Wörd${i}`).join(' ');
    const texts = ['Hello world', '', '🚀🚀', 'of the', 'İstanbul ΣΊΣΥΦΟΣ naïve café', ...topics.databases, long];
    const digest = async (dimensions: number) => {
      const hash = createHash('sha256');
      for (const v of await createLocalEmbedder({ dimensions }).embed(texts))
        hash.update(new Uint8Array(Float64Array.from(v).buffer));
      return hash.digest('hex');
    };
    // digests of the vectors the first implementation made: if they change, stored chunks must be embedded again
    expect(await digest(384)).toBe('26c6bc9458206dcab2ec22b959a46d8c240021d6fa3b0c49feb34152264a7750');
    expect(await digest(64)).toBe('ccd8a500532555c29440ac18cc599593dfa8b5c05f49c536c594dfcd3f39f7f8');
  });

  it('rejects unusable dimensions and honours an aborted signal', async () => {
    expect(() => createLocalEmbedder({ dimensions: 0 })).toThrow(RangeError);
    await expect(embedder.embed(['x'], { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe('cosine', () => {
  it('is 1 for the same direction, 0 for orthogonal or zero vectors, and checks lengths', () => {
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 3])).toBe(0);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(cosine([1, 0], [-1, 0])).toBe(-1);
    expect(() => cosine([1], [1, 2])).toThrow(/1 and 2 dimensions/);
  });
});
