import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeServer, startAnthropicFake, startOllamaFake, startOpenAIFake } from './fakes/index.js';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface ProviderRow {
  name: string;
  kind: string;
  mock: boolean;
  status: string;
  circuit: string;
  latencyMs: number | null;
  lastCheckedAt: string | null;
  lastError: string | null;
  models: { id: string; provider: string; contextWindow: number | null; mock: boolean }[];
}

const PROVIDERS = `{ providers { name kind mock status circuit latencyMs lastCheckedAt lastError errorRate inFlight
  models { id provider contextWindow mock } } }`;

describe('providers with the three fakes configured through the environment', () => {
  let openai: FakeServer;
  let anthropic: FakeServer;
  let ollama: FakeServer;
  let server: TestServer;
  let dir: string;
  const PROBE_INTERVAL_MS = 250;

  const providers = async () => (await server.query<{ providers: ProviderRow[] }>(PROVIDERS)).data?.providers ?? [];
  const byName = (rows: ProviderRow[], name: string) => rows.find((row) => row.name === name);

  beforeAll(async () => {
    [openai, anthropic, ollama] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
    dir = mkdtempSync(join(tmpdir(), 'switchyard-routing-'));
    const file = join(dir, 'switchyard.json');
    // A probe timeout far above a loaded machine's answer time, so healthy fakes never flap DOWN.
    writeFileSync(file, JSON.stringify({ health: { intervalMs: PROBE_INTERVAL_MS, probeTimeoutMs: 15_000 } }));
    server = await startTestServer({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      OLLAMA_HOST: ollama.url,
      SWITCHYARD_CONFIG: file,
    });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every provider UP with the models each fake serves, the mock labelled as such', async () => {
    const rows = await eventually(providers, (r) => r.filter((p) => p.lastCheckedAt).length === 4);
    expect(rows.map((p) => [p.name, p.kind, p.status, p.circuit, p.mock])).toEqual([
      ['openai', 'openai', 'UP', 'CLOSED', false],
      ['anthropic', 'anthropic', 'UP', 'CLOSED', false],
      ['ollama', 'ollama', 'UP', 'CLOSED', false],
      ['mock', 'mock', 'UP', 'CLOSED', true],
    ]);
    expect(byName(rows, 'openai')?.models.map((m) => m.id)).toEqual([
      'gpt-4o-mini',
      'gpt-4o',
      'text-embedding-3-small',
    ]);
    expect(byName(rows, 'anthropic')?.models[0]).toEqual({
      id: 'claude-sonnet-4-6',
      provider: 'anthropic',
      contextWindow: 200_000,
      mock: false,
    });
    expect(byName(rows, 'ollama')?.models.map((m) => m.id)).toEqual(['llama3.2:latest', 'nomic-embed-text:latest']);
    expect(byName(rows, 'mock')?.models).toEqual([
      { id: 'mock-echo', provider: 'mock', contextWindow: 8192, mock: true },
    ]);
    for (const row of rows) expect(row.latencyMs).toBeGreaterThanOrEqual(0);
    expect(openai.requests.some((r) => r.path === '/v1/models')).toBe(true);
  });

  it('models(provider) answers from the provider, and an unknown provider is BAD_USER_INPUT listing the rest', async () => {
    const result = await server.query<{ models: { id: string }[] }>('{ models(provider: "ollama") { id provider } }');
    expect(result.data?.models).toEqual([
      { id: 'llama3.2:latest', provider: 'ollama' },
      { id: 'nomic-embed-text:latest', provider: 'ollama' },
    ]);
    const all = await server.query<{ models: { provider: string }[] }>('{ models { provider } }');
    expect(new Set(all.data?.models.map((m) => m.provider))).toEqual(
      new Set(['openai', 'anthropic', 'ollama', 'mock']),
    );
    const unknown = await server.query('{ models(provider: "cohere") { id } }');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.errors?.[0]?.message).toMatch(/cohere.*openai.*anthropic.*ollama.*mock/);
  });

  it('turns DOWN at the next probe after an outage, UP when the provider returns, and streams both over graphql-ws', async () => {
    await eventually(providers, (r) => byName(r, 'openai')?.status === 'UP');
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: { name: string; status: string; circuit: string }[] = [];
    const failed = new Promise<never>((_resolve, reject) => {
      client.subscribe(
        { query: 'subscription { providerHealth { name status circuit lastError } }' },
        {
          next: (value) => events.push((value.data as { providerHealth: (typeof events)[number] }).providerHealth),
          error: reject,
          complete: () => {},
        },
      );
    });
    failed.catch(() => {});
    try {
      // Subscribed once an event published on the server reaches the client: republish the mock's
      // unchanged snapshot until one arrives, then start counting from nothing.
      const mock = server.app.providers.monitor.get('mock');
      if (!mock) throw new Error('the mock provider has no health snapshot');
      await eventually(
        async () => {
          server.app.services.localEvents.publish('providerHealth', mock);
          return events.length;
        },
        (n) => n > 0,
        { what: 'the providerHealth subscription to be live' },
      );
      events.length = 0;
      await openai.stop();
      const down = await eventually(providers, (r) => byName(r, 'openai')?.status === 'DOWN');
      expect(byName(down, 'openai')?.lastError).toBeTruthy();
      const health = await server.query<{ health: { status: string; providers: { name: string; status: string }[] } }>(
        '{ health { status providers { name status } } }',
      );
      expect(health.data?.health.status).toBe('degraded');
      expect(health.data?.health.providers.find((p) => p.name === 'openai')?.status).toBe('DOWN');

      await openai.start();
      await eventually(providers, (r) => byName(r, 'openai')?.status === 'UP');
      await eventually(
        async () => events.length,
        () => events.some((e) => e.name === 'openai' && e.status === 'UP'),
      );
      const openaiEvents = events.filter((e) => e.name === 'openai').map((e) => e.status);
      expect(openaiEvents).toEqual(['DOWN', 'UP']);
      // (a republished mock snapshot may still have been in flight when the list was cleared)
      expect(events.filter((e) => e.name !== 'openai' && e.name !== 'mock')).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});

describe('providers with no configuration at all', () => {
  it('lists OpenAI and Anthropic as UNCONFIGURED and the mock UP', async () => {
    const server = await startTestServer({ OLLAMA_HOST: undefined });
    try {
      const result = await server.query<{ providers: ProviderRow[] }>('{ providers { name status mock } }');
      const rows = result.data?.providers ?? [];
      expect(rows.find((p) => p.name === 'openai')).toEqual({ name: 'openai', status: 'UNCONFIGURED', mock: false });
      expect(rows.find((p) => p.name === 'anthropic')).toEqual({
        name: 'anthropic',
        status: 'UNCONFIGURED',
        mock: false,
      });
      expect(rows.find((p) => p.name === 'mock')).toEqual({ name: 'mock', status: 'UP', mock: true });
      const unconfigured = await server.query('{ models(provider: "openai") { id } }');
      expect(unconfigured.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await server.close();
    }
  });
});
