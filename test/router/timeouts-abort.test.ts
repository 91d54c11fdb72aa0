import { describe, expect, it } from 'vitest';
import type { ProviderInput } from '../../src/providers/registry.js';
import { createRouter, type RoutedStreamPart } from '../../src/providers/router/index.js';
import type { StreamPart } from '../../src/providers/types.js';
import {
  collect,
  createScriptedProvider,
  fail,
  finish,
  ok,
  type Step,
  text,
  textOf,
} from './helpers/scripted-provider.js';

const messages = [{ role: 'user' as const, content: 'hi' }];
type Timeouts = { firstTokenMs?: number; idleMs?: number; totalMs?: number };

function routerFor(providers: ProviderInput[], timeouts: Timeouts, maxRetries = 0) {
  const names = providers.map((p) => ('provider' in p ? p.provider.name : p.name));
  return createRouter({
    providers,
    aliases: { chat: { deployments: names.map((provider) => ({ provider, model: 'm' })) } },
    resilience: { timeouts, retry: { maxRetries, initialDelayMs: 1 } },
  });
}

const last = (parts: RoutedStreamPart[]) => parts.at(-1) as Extract<StreamPart, { type: 'error' }>;
const ticking = (n: number, ms: number): Step[] =>
  Array.from({ length: n }, (_, i) => [{ type: 'delay', ms } as Step, text(`${i} `)]).flat();

describe('timeouts', () => {
  it('first-token timeout aborts the call and falls back', async () => {
    const a = createScriptedProvider('a', [[{ type: 'hang' }]]);
    const b = createScriptedProvider('b', [ok('b')]);
    const started = performance.now();
    const parts = await collect(routerFor([a, b], { firstTokenMs: 50 }).stream({ model: 'chat', messages }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(parts[0]).toMatchObject({ provider: 'b', attempt: 2 });
    expect(a.signals[0]?.aborted).toBe(true);
  });

  it('first-token timeout also fires for a provider that ignores abort, and is retried', async () => {
    const a = createScriptedProvider('a', [[{ type: 'stuck' }], ok('second try')]);
    const parts = await collect(routerFor([a], { firstTokenMs: 40 }, 1).stream({ model: 'chat', messages }));
    expect(textOf(parts)).toBe('second try');
    expect(parts[0]).toMatchObject({ attempt: 2 });
  });

  it('reports the first-token timeout when nothing answers', async () => {
    const a = createScriptedProvider('a', [[{ type: 'hang' }]]);
    const parts = await collect(routerFor([a], { firstTokenMs: 30 }).stream({ model: 'chat', messages }));
    expect(last(parts).error).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'a sent no first token within 30 ms',
      retryable: true,
    });
  });

  it('idle timeout between tokens ends the stream, keeping the partial text, without fallback', async () => {
    const a = createScriptedProvider('a', [[text('partial'), { type: 'hang' }]]);
    const b = createScriptedProvider('b', [ok()]);
    const parts = await collect(routerFor([a, b], { idleMs: 50 }).stream({ model: 'chat', messages }));
    expect(textOf(parts)).toBe('partial');
    expect(last(parts).error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: 'a sent nothing for 50 ms' });
    expect(a.signals[0]?.aborted).toBe(true);
    expect(b.calls).toHaveLength(0);
  });

  it('idle timeout restarts at each wait: a steady stream and a slow consumer are not cut', async () => {
    // Upstream gaps far below the limit (a loaded machine stretches them); the consumer holds each
    // part longer than the limit, which must not count: only waits on the upstream do.
    const a = createScriptedProvider('a', [[...ticking(4, 5), finish()]]);
    const parts: RoutedStreamPart[] = [];
    for await (const part of routerFor([a], { idleMs: 300 }).stream({ model: 'chat', messages })) {
      parts.push(part);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(textOf(parts)).toBe('0 1 2 3 ');
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('a steady stream slower in total than the total timeout is cut at the total timeout', async () => {
    // 20 s of tokens: only the total timeout can end this stream before the test's own timeout.
    const a = createScriptedProvider('a', [ticking(1_000, 20)]);
    const started = performance.now();
    const parts = await collect(routerFor([a], { idleMs: 10_000, totalMs: 300 }).stream({ model: 'chat', messages }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(textOf(parts)).toMatch(/^0 /);
    expect(textOf(parts)).not.toContain('999 ');
    expect(last(parts).error).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'No complete answer within 300 ms',
    });
    expect(a.signals[0]?.aborted).toBe(true);
  });

  it('the total timeout bounds retries and fallbacks too', async () => {
    const a = createScriptedProvider('a', [[{ type: 'hang' }]]);
    const b = createScriptedProvider('b', [[{ type: 'hang' }]]);
    // Unbounded, 4 tries on each would run; the total allows the first call and part of the second.
    const parts = await collect(
      routerFor([a, b], { firstTokenMs: 200, totalMs: 300 }, 3).stream({ model: 'chat', messages }),
    );
    expect(parts).toHaveLength(1);
    expect(last(parts).error.message).toBe('No complete answer within 300 ms');
    expect(a.calls.length + b.calls.length).toBeLessThanOrEqual(2);
  });
});

describe('abort', () => {
  it('aborting mid-stream aborts the upstream call and ends with CANCELLED, keeping the text', async () => {
    const a = createScriptedProvider('a', [ticking(50, 10)]);
    const controller = new AbortController();
    const parts: RoutedStreamPart[] = [];
    for await (const part of routerFor([a], {}).stream({ model: 'chat', messages, signal: controller.signal })) {
      parts.push(part);
      if (part.type === 'text-delta' && part.text === '1 ') controller.abort();
    }
    expect(textOf(parts)).toBe('0 1 ');
    expect(last(parts).error).toMatchObject({ code: 'CANCELLED', provider: 'a' });
    expect(a.signals[0]?.aborted).toBe(true);
  });

  it('aborting before the first token cancels without fallback', async () => {
    const a = createScriptedProvider('a', [[{ type: 'hang' }]]);
    const b = createScriptedProvider('b', [ok()]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const parts = await collect(routerFor([a, b], {}).stream({ model: 'chat', messages, signal: controller.signal }));
    expect(parts).toHaveLength(1);
    expect(last(parts).error.code).toBe('CANCELLED');
    expect(b.calls).toHaveLength(0);
  });

  it('aborting during a backoff wait ends at once', async () => {
    // A wait longer than the test's timeout: the test ends only if the abort ends the wait.
    const a = createScriptedProvider('a', [[fail('a', { status: 429, retryAfterMs: 3_600_000 })], ok()]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const router = createRouter({
      providers: [a],
      aliases: { chat: { deployments: [{ provider: 'a', model: 'm' }] } },
      resilience: { retry: { maxRetries: 2, initialDelayMs: 1, maxRetryAfterMs: 3_600_000 } },
    });
    const parts = await collect(router.stream({ model: 'chat', messages, signal: controller.signal }));
    expect(last(parts).error.code).toBe('CANCELLED');
    expect(a.calls).toHaveLength(1);
  });

  it('an already aborted signal makes no upstream call', async () => {
    const a = createScriptedProvider('a', [ok()]);
    const parts = await collect(routerFor([a], {}).stream({ model: 'chat', messages, signal: AbortSignal.abort() }));
    expect(parts).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'CANCELLED' }) }]);
    expect(a.calls).toHaveLength(0);
  });

  it('a consumer that stops reading releases the upstream call', async () => {
    const a = createScriptedProvider('a', [ticking(50, 5)]);
    for await (const part of routerFor([a], {}).stream({ model: 'chat', messages })) {
      if (part.type === 'text-delta') break;
    }
    expect(a.signals[0]?.aborted).toBe(true);
  });
});
