import { describe, expect, it } from 'vitest';
import type { ProviderInput } from '../../src/providers/registry.js';
import { createRouter, type RoutedStreamPart, type RouterOptions } from '../../src/providers/router/index.js';
import { retryDelayMs } from '../../src/providers/router/resilience.js';
import {
  collect,
  createScriptedProvider,
  fail,
  finish,
  ok,
  providerError,
  text,
  textOf,
} from './helpers/scripted-provider.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

/** A router over `providers` with alias `chat` = the providers in order (round-robin from the first). */
function routerFor(providers: ProviderInput[], extra: Partial<RouterOptions> = {}) {
  const names = providers.map((p) => ('provider' in p ? p.provider.name : p.name));
  return createRouter({
    providers,
    aliases: { chat: { deployments: names.map((provider) => ({ provider, model: 'm' })) } },
    resilience: { retry: { initialDelayMs: 1, maxDelayMs: 5 } },
    random: () => 0.5,
    ...extra,
  });
}

const errorOf = (parts: RoutedStreamPart[]) => {
  const last = parts.at(-1);
  if (last?.type !== 'error') throw new Error(`expected an error part, got ${last?.type}`);
  return last.error;
};

describe('retries and fallback before the first token', () => {
  it('retries a retryable failure on the same deployment, then answers', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 503 })], ok('after retry')]);
    const parts = await collect(routerFor([a]).stream({ model: 'chat', messages }));
    expect(a.calls).toHaveLength(2);
    expect(parts[0]).toMatchObject({ type: 'start', provider: 'a', model: 'm', deploymentId: 'a/m', attempt: 2 });
    expect(textOf(parts)).toBe('after retry');
    expect(parts.at(-1)?.type).toBe('finish');
  });

  it('falls back to the next deployment after the retries are spent', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 500 })]]);
    const b = createScriptedProvider('b', [ok('from b')]);
    const parts = await collect(routerFor([a, b]).stream({ model: 'chat', messages }));
    expect(a.calls).toHaveLength(3); // 1 + 2 retries (the default)
    expect(b.calls).toHaveLength(1);
    expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'finish']);
    expect(parts[0]).toMatchObject({ provider: 'b', attempt: 4 });
    expect(b.calls[0]).toMatchObject({ model: 'm', messages });
  });

  it('follows the alias fallbacks to other providers', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 429 })]]);
    const claude = createScriptedProvider('anthropic', [ok('claude here')], 'anthropic');
    const router = createRouter({
      providers: [a, claude],
      aliases: { chat: { deployments: [{ provider: 'a', model: 'm' }], fallbacks: ['claude-haiku-4-5'] } },
      resilience: { retry: { maxRetries: 0 } },
    });
    const parts = await collect(router.stream({ model: 'chat', messages }));
    expect(parts[0]).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(textOf(parts)).toBe('claude here');
  });

  it('does not retry a 401 but falls back to the next deployment', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 401 })]]);
    const b = createScriptedProvider('b', [ok()]);
    const parts = await collect(routerFor([a, b]).stream({ model: 'chat', messages }));
    expect(a.calls).toHaveLength(1);
    expect(parts[0]).toMatchObject({ provider: 'b', attempt: 2 });
  });

  it('neither retries nor falls back on a 400: the request itself is bad', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 400, message: 'max_tokens too large' })]]);
    const b = createScriptedProvider('b', [ok()]);
    const parts = await collect(routerFor([a, b]).stream({ model: 'chat', messages }));
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
    expect(parts).toHaveLength(1);
    expect(errorOf(parts)).toMatchObject({ provider: 'a', status: 400, message: 'max_tokens too large' });
  });

  it('summarises every failure when the whole chain fails, keeping the last code', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 500, message: 'boom' })]]);
    const b = createScriptedProvider('b', [[fail('b', { status: 403, message: 'denied' })]]);
    const parts = await collect(routerFor([a, b]).stream({ model: 'chat', messages }));
    expect(parts).toHaveLength(1);
    const error = errorOf(parts);
    expect(error.message).toBe('All 2 deployments failed: a/m (boom); b/m (denied)');
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', provider: 'b', status: 403 });
  });

  it('treats a stream that ends without finish, or an adapter that throws, as failures', async () => {
    const cut = createScriptedProvider('cut', [[]]);
    const broken = createScriptedProvider('broken', [[]]);
    broken.stream = () => {
      throw new Error('adapter bug');
    };
    const good = createScriptedProvider('good', [ok('fine')]);
    const parts = await collect(
      routerFor([cut, broken, good], { resilience: { retry: { maxRetries: 0 } } }).stream({ model: 'chat', messages }),
    );
    expect(parts[0]).toMatchObject({ provider: 'good', attempt: 3 });
  });

  it('passes an empty reply (finish without text) through with its start part', async () => {
    const a = createScriptedProvider('a', [[finish(0)]]);
    const parts = await collect(routerFor([a]).stream({ model: 'chat', messages }));
    expect(parts.map((p) => p.type)).toEqual(['start', 'finish']);
  });
});

describe('after the first token', () => {
  it('does not retry or fall back: the error part ends the stream and the partial text stays', async () => {
    const a = createScriptedProvider('a', [[text('Hello'), text(' wor'), fail('a', { status: 502 })]]);
    const b = createScriptedProvider('b', [ok()]);
    const parts = await collect(routerFor([a, b]).stream({ model: 'chat', messages }));
    expect(parts.map((p) => p.type)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
    expect(textOf(parts)).toBe('Hello wor');
    expect(errorOf(parts)).toMatchObject({ provider: 'a', status: 502, code: 'UPSTREAM_ERROR' });
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it('ends with a typed error when the upstream stream is cut without finish', async () => {
    const a = createScriptedProvider('a', [[text('partial')]]);
    const parts = await collect(routerFor([a]).stream({ model: 'chat', messages }));
    expect(textOf(parts)).toBe('partial');
    expect(errorOf(parts)).toMatchObject({ code: 'UPSTREAM_ERROR', message: 'a ended the stream without a finish' });
  });
});

describe('Retry-After', () => {
  it('waits at least the provider’s Retry-After before retrying', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 429, retryAfterMs: 120 })], ok()]);
    const router = routerFor([a], { random: () => 0 });
    const started = performance.now();
    const parts = await collect(router.stream({ model: 'chat', messages }));
    const elapsed = performance.now() - started;
    expect(parts.at(-1)?.type).toBe('finish');
    expect(elapsed).toBeGreaterThanOrEqual(115);
  });

  it('computes full-jitter exponential delays, raised to Retry-After and capped', () => {
    const config = { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 30_000 };
    expect(retryDelayMs(config, 1, undefined, () => 0.999)).toBe(99);
    expect(retryDelayMs(config, 3, undefined, () => 0.5)).toBe(200);
    expect(retryDelayMs(config, 10, undefined, () => 0.5)).toBe(500);
    expect(retryDelayMs(config, 1, undefined, () => 0)).toBe(0);
    const limited = providerError('a', { status: 429, retryAfterMs: 2_000 });
    expect(retryDelayMs(config, 1, limited, () => 0.5)).toBe(2_000);
    const tooLong = providerError('a', { status: 429, retryAfterMs: 120_000 });
    expect(retryDelayMs(config, 1, tooLong, () => 0.5)).toBe(30_000);
  });
});

describe('a routed stream', () => {
  it('starts with the answering deployment, then its text and finish', async () => {
    const a = createScriptedProvider('a', [[text('one'), text(' two'), finish(2)]]);
    const parts = await collect(routerFor([a]).stream({ model: 'chat', messages }));
    expect(parts[0]).toMatchObject({ type: 'start', provider: 'a', model: 'm', deploymentId: 'a/m', attempt: 1 });
    expect(textOf(parts)).toBe('one two');
    expect(parts.at(-1)).toMatchObject({
      type: 'finish',
      usage: { promptTokens: 1, completionTokens: 2 },
      finishReason: { unified: 'stop' },
    });
  });

  it('ends with the ProviderError of a rejected request', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 400 })]]);
    expect(errorOf(await collect(routerFor([a]).stream({ model: 'chat', messages })))).toMatchObject({ status: 400 });
  });
});
