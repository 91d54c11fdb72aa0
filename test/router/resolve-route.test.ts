import { describe, expect, it } from 'vitest';
import { routerConfigSchema } from '../../src/config/router-schema.js';
import { AppError } from '../../src/errors.js';
import { createMockProvider } from '../../src/providers/mock/index.js';
import type { ProviderInput } from '../../src/providers/registry.js';
import { createRouter, type RouterOptions } from '../../src/providers/router/index.js';
import { createScriptedProvider } from './helpers/scripted-provider.js';

const provider = (name: string, kind: 'openai' | 'anthropic' | 'ollama') => createScriptedProvider(name, [[]], kind);

const providers: ProviderInput[] = [
  provider('openai', 'openai'),
  provider('openai-eu', 'openai'),
  provider('anthropic', 'anthropic'),
  { provider: provider('ollama', 'ollama'), configured: true },
  createMockProvider(),
];

const aliases: RouterOptions['aliases'] = {
  fast: {
    deployments: [
      { provider: 'openai', model: 'gpt-4o-mini', weight: 2 },
      { provider: 'openai-eu', model: 'gpt-4o-mini' },
    ],
    strategy: 'weighted',
    fallbacks: ['claude-haiku-4-5', 'ollama/llama3.2', 'openai/gpt-4o-mini'],
  },
  loop: { deployments: [{ provider: 'mock', model: 'mock-echo' }], fallbacks: ['loop', 'fast'] },
};

const ids = (router: ReturnType<typeof createRouter>, target: { model?: string; provider?: string }) =>
  router.resolve(target).chain.map((d) => d.id);

function badInput(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (AppError.isInstance(error) && error.code === 'BAD_USER_INPUT') return error;
    throw error;
  }
  throw new Error('expected BAD_USER_INPUT');
}

describe('route resolution', () => {
  const router = createRouter({ providers, aliases, defaultModel: 'mock/mock-echo' });

  it('infers the provider from well-known id prefixes', () => {
    expect(ids(router, { model: 'gpt-4o' })).toEqual(['openai/gpt-4o']);
    for (const model of ['o1-mini', 'o3', 'o4-mini', 'chatgpt-4o-latest', 'text-embedding-3-small']) {
      expect(ids(router, { model })).toEqual([`openai/${model}`]);
    }
    expect(ids(router, { model: 'claude-sonnet-4-5' })).toEqual(['anthropic/claude-sonnet-4-5']);
    expect(ids(router, { model: 'llama3.2' })).toEqual(['ollama/llama3.2']);
    expect(ids(router, { model: 'mock' })).toEqual(['mock/mock-echo']);
    expect(router.resolve({ model: 'gpt-4o' }).source).toBe('inferred');
  });

  it('takes provider/model ids, keeping further slashes in the model id', () => {
    expect(ids(router, { model: 'openai-eu/gpt-4o' })).toEqual(['openai-eu/gpt-4o']);
    expect(ids(router, { model: 'ollama/hf.co/org/model' })).toEqual(['ollama/hf.co/org/model']);
    expect(ids(router, { model: 'library/qwen' })).toEqual(['ollama/library/qwen']);
    expect(router.resolve({ model: 'openai-eu/gpt-4o' }).source).toBe('qualified');
  });

  it('expands aliases into balanced groups then fallbacks, each deployment once', () => {
    const resolution = router.resolve({ model: 'fast' });
    expect(resolution.source).toBe('alias');
    expect(resolution.groups.map((g) => [g.key, g.strategy])).toEqual([
      ['fast', 'weighted'],
      ['anthropic/claude-haiku-4-5', 'round-robin'],
      ['ollama/llama3.2', 'round-robin'],
    ]);
    expect(resolution.chain.map((d) => [d.id, d.weight])).toEqual([
      ['openai/gpt-4o-mini', 2],
      ['openai-eu/gpt-4o-mini', 1],
      ['anthropic/claude-haiku-4-5', 1],
      ['ollama/llama3.2', 1],
    ]);
  });

  it('survives alias cycles', () => {
    expect(ids(router, { model: 'loop' })).toEqual([
      'mock/mock-echo',
      'openai/gpt-4o-mini',
      'openai-eu/gpt-4o-mini',
      'anthropic/claude-haiku-4-5',
      'ollama/llama3.2',
    ]);
  });

  it('honours an explicit provider', () => {
    expect(ids(router, { provider: 'openai-eu', model: 'gpt-4o' })).toEqual(['openai-eu/gpt-4o']);
    expect(ids(router, { provider: 'anthropic', model: 'anthropic/claude-opus-4-1' })).toEqual([
      'anthropic/claude-opus-4-1',
    ]);
    expect(ids(router, { provider: 'openai-eu', model: 'fast' })).toEqual(['openai-eu/gpt-4o-mini']);
    expect(ids(router, { provider: 'anthropic' })).toEqual(['anthropic/claude-haiku-4-5']);
    expect(ids(router, { provider: 'mock' })).toEqual(['mock/mock-echo']);
    expect(router.resolve({ provider: 'openai' }).source).toBe('provider');
    expect(badInput(() => router.resolve({ provider: 'openai', model: 'anthropic/claude-x' })).message).toContain(
      'belongs to "anthropic"',
    );
  });

  it('uses the default model when none is named', () => {
    expect(router.resolve({})).toMatchObject({ source: 'default', chain: [{ id: 'mock/mock-echo' }] });
    expect(ids(router, { model: '' })).toEqual(['mock/mock-echo']);
    const viaAlias = createRouter({ providers, aliases, defaultModel: 'fast' });
    expect(ids(viaAlias, {})[0]).toBe('openai/gpt-4o-mini');
    expect(ids(viaAlias, { provider: 'openai-eu' })).toEqual(['openai-eu/gpt-4o-mini']);
  });

  it('defaults to the first configured real provider, else the mock', () => {
    expect(createRouter({ providers }).defaultModel).toBe('openai/gpt-4o-mini');
    const zeroConfig = createRouter({
      providers: [
        { provider: provider('openai', 'openai'), configured: false },
        { provider: provider('ollama', 'ollama'), configured: 'auto' },
        createMockProvider(),
      ],
    });
    expect(zeroConfig.defaultModel).toBe('mock/mock-echo');
  });

  it('rejects unknown or unconfigured providers with BAD_USER_INPUT listing what is available', () => {
    const partial = createRouter({
      providers: [
        { provider: provider('openai', 'openai'), configured: false },
        { provider: provider('anthropic', 'anthropic'), configured: false },
        createMockProvider(),
      ],
      aliases: { demo: { deployments: [{ provider: 'openai', model: 'gpt-4o' }] } },
    });
    const unknown = badInput(() => partial.resolve({ provider: 'mistral' }));
    expect(unknown.message).toBe(
      'Unknown provider "mistral". Available providers: mock; aliases: demo; default model: mock/mock-echo.',
    );
    expect(unknown.details).toEqual({
      model: null,
      provider: 'mistral',
      availableProviders: ['mock'],
      aliases: ['demo'],
      defaultModel: 'mock/mock-echo',
    });
    expect(badInput(() => partial.resolve({ model: 'gpt-4o' })).message).toMatch(/needs the openai provider/);
    expect(badInput(() => partial.resolve({ model: 'claude-x' })).message).toMatch(/needs the anthropic provider/);
    expect(badInput(() => partial.resolve({ model: 'openai/gpt-4o' })).message).toMatch(/"openai" is not configured/);
    expect(badInput(() => partial.resolve({ provider: 'openai' })).message).toMatch(/"openai" is not configured/);
    expect(badInput(() => partial.resolve({ model: 'demo' })).message).toMatch(/Alias "demo" has no configured/);
    expect(() => partial.stream({ model: 'gpt-4o', messages: [] })).toThrow(AppError);
  });

  it('sends bare ids to the default model when Ollama is absent or not (yet) reachable', () => {
    const withoutOllama = createRouter({ providers: [createMockProvider()] });
    expect(withoutOllama.resolve({ model: 'llama3.2' })).toMatchObject({
      source: 'default',
      chain: [{ id: 'mock/mock-echo' }],
    });
    let reachable = false;
    const autoOllama = createRouter({
      providers: [{ provider: provider('ollama', 'ollama'), configured: 'auto' }, createMockProvider()],
      isAvailable: () => reachable,
    });
    expect(ids(autoOllama, { model: 'llama3.2' })).toEqual(['mock/mock-echo']);
    reachable = true;
    // Reachable but only auto-detected: the default model stands behind it.
    expect(ids(autoOllama, { model: 'llama3.2' })).toEqual(['ollama/llama3.2', 'mock/mock-echo']);
  });

  it('skips alias deployments and fallbacks on unconfigured providers', () => {
    const router2 = createRouter({
      providers: [{ provider: provider('openai', 'openai'), configured: false }, provider('anthropic', 'anthropic')],
      aliases: {
        smart: { deployments: [{ provider: 'openai', model: 'gpt-4o' }], fallbacks: ['gpt-4.1', 'claude-opus-4-1'] },
      },
    });
    expect(ids(router2, { model: 'smart' })).toEqual(['anthropic/claude-opus-4-1']);
  });

  it('fails fast on configuration mistakes', () => {
    expect(() =>
      createRouter({ providers, aliases: { x: { deployments: [{ provider: 'opnai', model: 'gpt-4o' }] } } }),
    ).toThrow('Alias "x" names provider "opnai", which is not registered');
    expect(() => createRouter({ providers: [createMockProvider()], defaultModel: 'gpt-4o' })).toThrow(
      /Default model "gpt-4o" cannot be routed/,
    );
    expect(() => createRouter({ providers, strategy: 'random' as never })).toThrow(/Invalid router configuration/);
    expect(() => createRouter({ providers: [createMockProvider(), createMockProvider()] })).toThrow(/twice/);
  });
});

describe('router config schema', () => {
  it('fills every default from an empty object', () => {
    expect(routerConfigSchema.parse({})).toEqual({
      strategy: 'round-robin',
      aliases: {},
      resilience: {
        timeouts: { firstTokenMs: 60_000, idleMs: 60_000, totalMs: 600_000, embeddingMs: 180_000 },
        retry: { maxRetries: 2, initialDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 30_000 },
        breaker: { failureThreshold: 5, halfOpenAfterMs: 30_000 },
      },
    });
  });

  it('rejects unknown keys, bad weights and alias names with a slash', () => {
    expect(routerConfigSchema.safeParse({ alias: {} }).success).toBe(false);
    const bad = (deployments: unknown) => routerConfigSchema.safeParse({ aliases: { a: { deployments } } }).success;
    expect(bad([{ provider: 'openai', model: 'x', weight: 0 }])).toBe(false);
    expect(bad([])).toBe(false);
    expect(bad([{ provider: 'openai', model: 'x' }])).toBe(true);
    expect(
      routerConfigSchema.safeParse({ aliases: { 'a/b': { deployments: [{ provider: 'p', model: 'm' }] } } }).success,
    ).toBe(false);
  });
});
