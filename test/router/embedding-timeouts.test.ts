/**
 * An embedding deployment that never answers: each call is bounded by the router's
 * `embeddingMs`, fails as a retryable timeout, is retried, then falls back; with nowhere left to
 * go the caller gets an error instead of a request that hangs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('embedding timeouts', () => {
  let server: TestServer;
  let openai: FakeServer;
  let ollama: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;

  beforeAll(async () => {
    [openai, ollama] = await Promise.all([startOpenAIFake(), startOllamaFake()]);
    file = writeConfigFile({
      aliases: {
        'slow-embedder': {
          deployments: [{ provider: 'openai', model: 'text-embedding-3-small' }],
          fallbacks: ['ollama/nomic-embed-text'],
        },
      },
      resilience: {
        retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 },
        timeouts: { embeddingMs: 1_000 },
        breaker: { failureThreshold: 100 },
      },
      health: { intervalMs: 3_600_000 },
    });
    server = await startTestServer({ ...fakeProviderEnv({ openai, ollama }), SWITCHYARD_CONFIG: file.path });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([openai?.close(), ollama?.close()]);
    file?.cleanup();
  });
  afterEach(() => openai.faults.clear());

  const embed = async (model: string) => {
    const response = await fetch(`${server.origin}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: ['heron', 'egret'] }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const openaiEmbeddings = () => openai.requests.filter((r) => r.path === '/v1/embeddings').length;

  it('gives up on a silent deployment after its timeout, retries it once, then falls back', async () => {
    openai.faults.always({ path: '/v1/embeddings', stallAfterChunks: 0 });
    const sent = openaiEmbeddings();
    const { status, body } = await embed('slow-embedder');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ model: 'nomic-embed-text', data: [{}, {}] });
    expect(openaiEmbeddings() - sent).toBe(2);
  });

  it('answers with an error, not a hang, when the only deployment stays silent', async () => {
    openai.faults.always({ path: '/v1/embeddings', stallAfterChunks: 0 });
    const { status, body } = await embed('openai/text-embedding-3-small');
    expect(status).toBeGreaterThanOrEqual(500);
    expect(JSON.stringify(body)).toContain('sent no embeddings within 1000 ms');
  });
});
