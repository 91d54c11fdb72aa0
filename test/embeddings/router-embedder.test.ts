import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRouterEmbedder, embedderFromSpec } from '../../src/embeddings/index.js';
import { createOllamaProvider } from '../../src/providers/ollama/ollama-provider.js';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.js';
import { createRouter, type Router } from '../../src/providers/router/index.js';
import { countTokens, type FakeServer, fakeEmbedding, startOllamaFake, startOpenAIFake } from '../fakes/index.js';

/** Remote embeddings through the real adapters (official SDKs) and the router, against the HTTP fakes. */

let openai: FakeServer;
let ollama: FakeServer;
let router: Router;

beforeAll(async () => {
  [openai, ollama] = await Promise.all([startOpenAIFake(), startOllamaFake()]);
  router = createRouter({
    providers: [
      createOpenAIProvider({ apiKey: 'sk-test', baseURL: openai.baseURL }),
      createOllamaProvider({ host: ollama.baseURL }),
    ],
    resilience: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 1 } },
    random: () => 0,
  });
});
afterAll(() => Promise.all([openai.close(), ollama.close()]));
beforeEach(() => {
  openai.reset();
  ollama.reset();
});

const texts = Array.from({ length: 200 }, (_, i) => `chunk number ${i}`);
const inputsOf = (server: FakeServer, path: string) =>
  server.requests.filter((r) => r.path === path).map((r) => (r.body as { input: string[] }).input);

describe('createRouterEmbedder', () => {
  it('sends OpenAI batches of batchSize with dimensions and returns vectors in order', async () => {
    const embedder = createRouterEmbedder({ router, model: 'openai/text-embedding-3-small', dimensions: 256 });
    expect(embedder.dimensions).toBe(256);
    const vectors = await embedder.embed(texts);

    const batches = inputsOf(openai, '/v1/embeddings');
    expect(batches.map((b) => b.length)).toEqual([96, 96, 8]);
    expect(batches.flat()).toEqual(texts);
    for (const request of openai.requests) {
      expect(request.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 256 });
    }
    expect(vectors).toHaveLength(200);
    // the fake's vectors are a pure function of the text: order is checkable one by one
    vectors.forEach((vector, i) => {
      expect(vector).toEqual(fakeEmbedding(texts[i] as string, 256));
    });
  });

  it('learns the dimensions from the first Ollama reply and keeps order', async () => {
    const embedder = createRouterEmbedder({ router, model: 'ollama/nomic-embed-text', batchSize: 50 });
    expect(embedder.model).toBe('ollama/nomic-embed-text');
    expect(embedder.dimensions).toBe(0);
    const vectors = await embedder.embed(texts.slice(0, 120));
    expect(embedder.dimensions).toBe(768);
    expect(inputsOf(ollama, '/api/embed').map((b) => b.length)).toEqual([50, 50, 20]);
    expect(ollama.requests.every((r) => (r.body as { model: string }).model === 'nomic-embed-text')).toBe(true);
    expect(vectors.map((v) => v.length)).toEqual(Array(120).fill(768));
    expect(vectors[119]).toEqual(fakeEmbedding('chunk number 119', 768));
    expect(openai.requests).toHaveLength(0);
  });

  it('tells onUsage, once, the tokens the provider reported over all the batches', async () => {
    const embedder = createRouterEmbedder({ router, model: 'ollama/nomic-embed-text', batchSize: 50 });
    const reported: { promptTokens: number }[] = [];
    await embedder.embed(texts.slice(0, 120), { onUsage: (usage) => reported.push(usage) });
    expect(inputsOf(ollama, '/api/embed')).toHaveLength(3);
    expect(reported).toEqual([{ promptTokens: texts.slice(0, 120).reduce((sum, t) => sum + countTokens(t), 0) }]);
    const local = embedderFromSpec('local', router);
    await local.embed(['no provider, no tokens'], { onUsage: (usage) => reported.push(usage) });
    expect(reported).toHaveLength(1);
  });

  it('retries a failed batch through the router', async () => {
    openai.faults.next({ path: '/v1/embeddings', status: 503 });
    const embedder = createRouterEmbedder({ router, model: 'openai/text-embedding-3-small', batchSize: 2 });
    const vectors = await embedder.embed(['a', 'b', 'c']);
    expect(vectors).toEqual(['a', 'b', 'c'].map((t) => fakeEmbedding(t, 1536)));
    expect(inputsOf(openai, '/v1/embeddings')).toEqual([['a', 'b'], ['a', 'b'], ['c']]);
  });

  it('throws a clear error when vector lengths disagree', async () => {
    const shifting: Pick<Router, 'embed'> = {
      embed: async ({ input }) => ({
        embeddings: input.map((_, i) => new Array<number>(i === 0 ? 3 : 4).fill(0.5)),
        provider: 'fake',
        model: 'm',
      }),
    };
    const learnt = createRouterEmbedder({ router: shifting, model: 'openai/x' });
    await expect(learnt.embed(['a', 'b'])).rejects.toThrow(
      'openai/x returned a vector of 4 dimensions where 3 were expected (set by its first reply)',
    );
    const fixed = createRouterEmbedder({ router: shifting, model: 'openai/x', dimensions: 4 });
    await expect(fixed.embed(['a'])).rejects.toThrow(
      'openai/x returned a vector of 3 dimensions where 4 were expected',
    );
    const short: Pick<Router, 'embed'> = { embed: async () => ({ embeddings: [], provider: 'fake', model: 'm' }) };
    await expect(createRouterEmbedder({ router: short, model: 'openai/x' }).embed(['a'])).rejects.toThrow(
      'openai/x returned 0 embeddings for 1 texts',
    );
  });

  it('makes no request for no texts, and stops between batches once aborted', async () => {
    const embedder = createRouterEmbedder({ router, model: 'openai/text-embedding-3-small', batchSize: 1 });
    expect(await embedder.embed([])).toEqual([]);
    await expect(embedder.embed(['a', 'b'], { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(openai.requests).toHaveLength(0);
  });
});

describe('embedderFromSpec', () => {
  it('picks the local embedder by default and for local specs', () => {
    expect(embedderFromSpec(undefined, router).model).toBe('local/hash-384');
    expect(embedderFromSpec('local', router).model).toBe('local/hash-384');
    expect(embedderFromSpec('local/hash-384', router).dimensions).toBe(384);
    expect(embedderFromSpec('local/hash-128', router).dimensions).toBe(128);
  });

  it('routes openai/ and ollama/ models through the router', async () => {
    const embedder = embedderFromSpec('ollama/nomic-embed-text', router);
    expect(embedder.model).toBe('ollama/nomic-embed-text');
    expect(await embedder.embed(['hi'])).toEqual([fakeEmbedding('hi', 768)]);
    expect(embedderFromSpec('openai/text-embedding-3-large', router).model).toBe('openai/text-embedding-3-large');
  });

  it('names what is allowed for anything else', () => {
    for (const spec of ['anthropic/claude', 'openai/', 'hash', 'local/minilm'])
      expect(() => embedderFromSpec(spec, router)).toThrow(/'local', 'local\/hash-<dimensions>'.*'openai\/<model>'/);
  });
});
