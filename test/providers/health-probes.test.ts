import { describe, expect, it } from 'vitest';
import type { ProviderDefinition } from '../../src/providers/definition.js';
import { providerDefinitions } from '../../src/providers/definitions.js';
import { createHealthMonitor } from '../../src/providers/health/index.js';
import type { ChatProvider } from '../../src/providers/types.js';
import {
  type FakeServer,
  type RecordedRequest,
  startAnthropicFake,
  startOllamaFake,
  startOpenAIFake,
} from '../fakes/index.js';

/** Every endpoint that generates (or embeds) and so is billed: a probe must never reach one. */
const BILLED =
  /^\/(v1\/(chat\/completions|completions|responses|messages|embeddings)|api\/(chat|generate|embed|embeddings))\b/;

const definition = (kind: string): ProviderDefinition => {
  const found = providerDefinitions.find((d) => d.kind === kind);
  if (!found) throw new Error(`no definition for ${kind}`);
  return found;
};

const calls = (requests: RecordedRequest[]) =>
  requests.map((r) => ({ method: r.method, path: r.path, query: r.query }));

/**
 * Each kind's health probe, built by its definition as the gateway builds it, against its
 * wire-faithful fake: the exact call it makes, and that a whole health round (probe, then the
 * model list it refreshes) reaches no billed endpoint.
 */
describe.each([
  { kind: 'openai', start: startOpenAIFake, probe: { method: 'GET', path: '/v1/models', query: {} } },
  { kind: 'xai', start: startOpenAIFake, probe: { method: 'GET', path: '/v1/models', query: {} } },
  { kind: 'anthropic', start: startAnthropicFake, probe: { method: 'GET', path: '/v1/models', query: { limit: '1' } } },
  { kind: 'ollama', start: startOllamaFake, probe: { method: 'GET', path: '/api/tags', query: {} } },
])('$kind health probe', ({ kind, start, probe }) => {
  it(`is one ${probe.method} ${probe.path}, and a health round generates nothing`, async () => {
    const fake: FakeServer = await start();
    try {
      const provider = definition(kind).create({ name: kind, apiKey: 'k', baseURL: fake.baseURL, tokenDelayMs: 0 });
      await provider.probe(AbortSignal.timeout(10_000));
      expect(calls(fake.requests)).toEqual([probe]);

      fake.reset();
      const health = createHealthMonitor({ providers: [provider] });
      await health.probeAll();
      expect(health.get(kind)).toMatchObject({ status: 'UP', lastError: null });
      expect(fake.requests.length).toBeGreaterThan(0);
      expect(calls(fake.requests).filter((c) => BILLED.test(c.path))).toEqual([]);
      expect(calls(fake.requests)[0]).toEqual(probe);
    } finally {
      await fake.close();
    }
  });
});

describe('mock health probe', () => {
  it('answers in process; a health round neither streams nor embeds, and an aborted probe is CANCELLED', async () => {
    const mock = definition('mock').create({ name: 'mock', apiKey: undefined, baseURL: undefined, tokenDelayMs: 0 });
    const used: string[] = [];
    const watched: ChatProvider = {
      ...mock,
      stream: (request) => {
        used.push('stream');
        return mock.stream(request);
      },
      embed: async (request) => {
        used.push('embed');
        return (await mock.embed?.(request)) ?? { embeddings: [] };
      },
    };
    await watched.probe(AbortSignal.timeout(1_000));
    const health = createHealthMonitor({ providers: [watched] });
    await health.probeAll();
    expect(health.get('mock')).toMatchObject({ status: 'UP' });
    expect(used).toEqual([]);
    await expect(watched.probe(AbortSignal.abort())).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
