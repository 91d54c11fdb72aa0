/**
 * Embedding retries and fallbacks on /metrics, counted as chat's are, under
 * `gen_ai_operation_name="embeddings"`: a GraphQL search whose query embedding gets one 503 from
 * OpenAI before it succeeds, and a REST embedding call whose alias leaves OpenAI for Ollama.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { type Sample, scrapeMetrics, total } from '../helpers/prometheus.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const OPENAI = { gen_ai_provider_name: 'openai' };
const OLLAMA = { gen_ai_provider_name: 'ollama' };
const EMBEDDINGS = { gen_ai_operation_name: 'embeddings' };
const CHAT = { gen_ai_operation_name: 'chat' };

describe('/metrics: embedding retries and fallbacks', () => {
  let server: TestServer;
  let openai: FakeServer;
  let ollama: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;

  const embeddingCalls = (fake: FakeServer, path: string) => fake.requests.filter((r) => r.path === path).length;
  const gains = (before: Sample[], after: Sample[]) => (name: string, where: Record<string, string>) =>
    total(after, name, where) - total(before, name, where);

  beforeAll(async () => {
    [openai, ollama] = await Promise.all([startOpenAIFake(), startOllamaFake()]);
    file = writeConfigFile({
      aliases: {
        'any-embedder': {
          deployments: [{ provider: 'openai', model: 'text-embedding-3-small' }],
          fallbacks: ['ollama/nomic-embed-text'],
        },
      },
      resilience: { retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 } },
      health: { intervalMs: 3_600_000 },
    });
    server = await startTestServer({
      ...fakeProviderEnv({ openai, ollama }),
      EMBEDDING_MODEL: 'openai/text-embedding-3-small',
      SWITCHYARD_CONFIG: file.path,
    });
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    await ollama?.close();
    file?.cleanup();
  });
  afterEach(() => {
    openai.faults.clear();
    ollama.faults.clear();
  });

  it('counts one retry of an embedding that got a 503 and then succeeded', async () => {
    const before = await scrapeMetrics(server.origin);
    const sent = embeddingCalls(openai, '/v1/embeddings');
    openai.faults.next({ path: '/v1/embeddings', status: 503 });
    const result = await server.query<{ search: unknown[] }>(
      '{ search(query: "heron nests", mode: VECTOR) { score } }',
    );
    expect(result.errors).toBeUndefined();
    expect(embeddingCalls(openai, '/v1/embeddings') - sent).toBe(2);

    const gained = gains(before, await scrapeMetrics(server.origin));
    expect(gained('switchyard_upstream_retries_total', { ...EMBEDDINGS, ...OPENAI })).toBe(1);
    expect(gained('switchyard_upstream_fallbacks_total', EMBEDDINGS)).toBe(0);
    expect(gained('switchyard_upstream_retries_total', CHAT)).toBe(0);
  });

  it('counts the retry and the fallback of an embedding whose first deployment keeps failing', async () => {
    const before = await scrapeMetrics(server.origin);
    openai.faults.always({ path: '/v1/embeddings', status: 503 });
    const response = await fetch(`${server.origin}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any-embedder', input: ['heron', 'egret'] }),
    });
    const body = (await response.json()) as { model?: string; data?: unknown[] };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ model: 'nomic-embed-text', data: [{}, {}] });

    const gained = gains(before, await scrapeMetrics(server.origin));
    expect(gained('switchyard_upstream_retries_total', { ...EMBEDDINGS, ...OPENAI })).toBe(1);
    expect(gained('switchyard_upstream_fallbacks_total', { ...EMBEDDINGS, ...OPENAI })).toBe(1);
    expect(gained('switchyard_upstream_retries_total', { ...EMBEDDINGS, ...OLLAMA })).toBe(0);
    expect(gained('switchyard_upstream_fallbacks_total', { ...EMBEDDINGS, ...OLLAMA })).toBe(0);
    expect(gained('switchyard_upstream_fallbacks_total', CHAT)).toBe(0);
  });
});
