/**
 * Embedding retries and fallbacks on /metrics, counted as chat's are, under
 * `gen_ai_operation_name="embeddings"`: a GraphQL search whose query embedding gets one 503 from
 * OpenAI before it succeeds, and a REST embedding call whose alias leaves OpenAI for Ollama. An
 * embedding deployment has a circuit breaker, as a chat one does: once it opened, calls skip the
 * deployment without reaching it; its upstream calls are counted and weigh in its provider's health.
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
        'breaking-embedder': {
          deployments: [{ provider: 'openai', model: 'text-embedding-3-large' }],
          fallbacks: ['ollama/nomic-embed-text'],
        },
      },
      resilience: {
        retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 },
        // Opens on a call's first try and its retry failing; stays open for the whole test.
        breaker: { failureThreshold: 2, halfOpenAfterMs: 600_000 },
      },
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

  it('opens the breaker of an embedding deployment that keeps failing: later calls skip it', async () => {
    const before = await scrapeMetrics(server.origin);
    const large = () =>
      openai.requests.filter(
        (r) => r.path === '/v1/embeddings' && (r.body as { model?: string }).model === 'text-embedding-3-large',
      ).length;
    openai.faults.always({ path: '/v1/embeddings', status: 503 });
    const embed = async () => {
      const response = await fetch(`${server.origin}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'breaking-embedder', input: 'heron' }),
      });
      const body = (await response.json()) as { model?: string };
      expect(response.status, JSON.stringify(body)).toBe(200);
      return body.model;
    };
    // The first try and its retry fail: the circuit opens, Ollama answers.
    expect(await embed()).toBe('nomic-embed-text');
    expect(large()).toBe(2);
    // Open: OpenAI is not asked again.
    expect(await embed()).toBe('nomic-embed-text');
    expect(await embed()).toBe('nomic-embed-text');
    expect(large()).toBe(2);

    const after = await scrapeMetrics(server.origin);
    const gained = gains(before, after);
    const calls = (where: Record<string, string>) =>
      gained('switchyard_upstream_calls_total', { ...EMBEDDINGS, ...where });
    expect(calls({ ...OPENAI, outcome: 'retryable_error' })).toBe(2);
    expect(calls({ ...OLLAMA, outcome: 'success' })).toBe(3);
    expect(gained('switchyard_upstream_calls_total', CHAT)).toBe(0);
    expect(gained('switchyard_upstream_retries_total', { ...EMBEDDINGS, ...OPENAI })).toBe(1);
    expect(gained('switchyard_upstream_fallbacks_total', { ...EMBEDDINGS, ...OPENAI })).toBe(3);
    expect(
      total(after, 'switchyard_circuit_breaker_state', {
        ...OPENAI,
        deployment: 'openai/text-embedding-3-large',
        state: 'OPEN',
      }),
    ).toBe(1);

    const health = await server.query<{ providers: { name: string; errorRate: number; lastError: string | null }[] }>(
      '{ providers { name errorRate lastError } }',
    );
    const openaiHealth = health.data?.providers.find((p) => p.name === 'openai');
    expect(openaiHealth?.errorRate).toBeGreaterThan(0);
    expect(openaiHealth?.lastError).toEqual(expect.any(String));
  });
});
