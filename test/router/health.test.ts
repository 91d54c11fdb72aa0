import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  aggregateCircuit,
  createHealthMonitor,
  defaultThresholds,
  overallStatus,
  type ProviderHealthSnapshot,
  providerStatus,
  type StatusInputs,
} from '../../src/providers/health/index.js';
import { createMockProvider } from '../../src/providers/mock/index.js';
import { createRouter } from '../../src/providers/router/index.js';
import { until } from '../helpers/eventually.js';
import { collect, createScriptedProvider, fail, ok, providerError, text, textOf } from './helpers/scripted-provider.js';

const messages = [{ role: 'user' as const, content: 'hi' }];
const healthy: StatusInputs = {
  configured: true,
  everReached: true,
  circuit: 'CLOSED',
  probeFailing: false,
  errorRate: 0,
  samples: 0,
  ttftSamples: 0,
  slowTtfts: 0,
};
const status = (change: Partial<StatusInputs>) => providerStatus({ ...healthy, ...change }, defaultThresholds);

describe('status rules', () => {
  it('applies each rule in order', () => {
    expect(status({})).toBe('UP');
    expect(status({ configured: false })).toBe('UNCONFIGURED');
    expect(status({ configured: 'auto', everReached: false, probeFailing: true })).toBe('UNCONFIGURED');
    expect(status({ configured: 'auto' })).toBe('UP');
    expect(status({ circuit: 'OPEN' })).toBe('DOWN');
    expect(status({ probeFailing: true })).toBe('DOWN');
    expect(status({ circuit: 'HALF_OPEN' })).toBe('DEGRADED');
    expect(status({ errorRate: 0.3, samples: 10 })).toBe('DEGRADED');
    expect(status({ errorRate: 0.25, samples: 10 })).toBe('UP');
    expect(status({ errorRate: 1, samples: 4 })).toBe('UP');
    expect(status({ ttftSamples: 5, slowTtfts: 5 })).toBe('DEGRADED');
    expect(status({ ttftSamples: 4, slowTtfts: 4 })).toBe('UP');
    // p95 of twenty: the 19th smallest; one slow call in twenty is not enough
    expect(status({ ttftSamples: 20, slowTtfts: 1 })).toBe('UP');
    expect(status({ ttftSamples: 20, slowTtfts: 2 })).toBe('DEGRADED');
  });

  it('aggregates deployment circuits and the overall status', () => {
    expect(aggregateCircuit([])).toBe('CLOSED');
    expect(aggregateCircuit(['CLOSED', 'CLOSED'])).toBe('CLOSED');
    expect(aggregateCircuit(['OPEN', 'CLOSED'])).toBe('HALF_OPEN');
    expect(aggregateCircuit(['OPEN', 'OPEN'])).toBe('OPEN');
    expect(overallStatus(['UP', 'UNCONFIGURED'])).toBe('ok');
    expect(overallStatus(['UP', 'DOWN'])).toBe('degraded');
    expect(overallStatus(['DEGRADED'])).toBe('degraded');
    expect(overallStatus(['DOWN', 'UNCONFIGURED'])).toBe('down');
    expect(overallStatus(['UNCONFIGURED'])).toBe('down');
  });
});

describe('health monitor: active probes', () => {
  it('probes configured providers, lists their models and reports failures with change events', async () => {
    const openai = createScriptedProvider('openai', [[]], 'openai', ['gpt-4o-mini']);
    const anthropic = createScriptedProvider('anthropic', [[]], 'anthropic');
    const health = createHealthMonitor({
      providers: [openai, { provider: anthropic, configured: false }, createMockProvider()],
    });
    const events: ProviderHealthSnapshot[] = [];
    health.onChange((s) => events.push(s));

    expect(health.get('openai')).toMatchObject({ status: 'UP', lastCheckedAt: null, models: [] });
    await health.probeAll();
    expect(health.get('openai')).toMatchObject({
      name: 'openai',
      kind: 'openai',
      status: 'UP',
      circuit: 'CLOSED',
      errorRate: 0,
      inFlight: 0,
      lastError: null,
      models: [{ id: 'gpt-4o-mini', provider: 'openai' }],
    });
    expect(health.get('openai')?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(health.get('openai')?.lastCheckedAt).toBeInstanceOf(Date);
    expect(health.get('anthropic')).toMatchObject({ status: 'UNCONFIGURED', lastCheckedAt: null });
    expect(health.get('mock')?.models).toEqual([{ id: 'mock-echo', provider: 'mock', contextWindow: 8192 }]);
    expect(health.overall()).toBe('ok');
    expect(events).toEqual([]);

    openai.probeError = providerError('openai', { status: 401, message: 'invalid api key' });
    await health.probeAll();
    expect(health.get('openai')).toMatchObject({ status: 'DOWN', lastError: 'invalid api key', latencyMs: null });
    expect(health.overall()).toBe('degraded');
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['openai:DOWN']);

    openai.probeError = undefined;
    await health.probeAll();
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['openai:DOWN', 'openai:UP']);
  });

  it('marks a probe that outlives its timeout as failed', async () => {
    const slow = createScriptedProvider('ollama', [[]], 'ollama');
    slow.probeDelayMs = 1_000;
    const health = createHealthMonitor({ providers: [slow], probeTimeoutMs: 30 });
    await health.probeAll();
    expect(health.get('ollama')).toMatchObject({ status: 'DOWN' });
    expect(health.get('ollama')?.lastError).toMatch(/timed out/);
  });

  it('keeps an auto-detected provider UNCONFIGURED until it answers, and tells the router', async () => {
    const ollama = createScriptedProvider('ollama', [ok('from ollama')], 'ollama');
    ollama.probeError = providerError('ollama', { status: undefined, message: 'connect ECONNREFUSED' });
    const providers = [{ provider: ollama, configured: 'auto' as const }, createMockProvider({ tokenDelayMs: 0 })];
    const health = createHealthMonitor({ providers });
    const router = createRouter({ providers, isAvailable: health.isAvailable, recorder: health.recorder });

    await health.probeAll();
    expect(health.get('ollama')).toMatchObject({ status: 'UNCONFIGURED', lastError: 'connect ECONNREFUSED' });
    expect(health.isAvailable('ollama')).toBe(false);
    expect(router.resolve({ model: 'llama3.2' }).chain.map((d) => d.id)).toEqual(['mock/mock-echo']);

    ollama.probeError = undefined;
    await health.probeAll();
    expect(health.get('ollama')?.status).toBe('UP');
    expect(health.isAvailable('ollama')).toBe(true);
    expect(textOf(await collect(router.stream({ model: 'llama3.2', messages })))).toBe('from ollama');

    // Once seen, a failing probe is DOWN rather than UNCONFIGURED.
    ollama.probeError = providerError('ollama', { status: undefined, message: 'gone' });
    await health.probeAll();
    expect(health.get('ollama')?.status).toBe('DOWN');
  });

  it('start() probes at once and on the interval; stop() ends it', async () => {
    const scheduled: Array<() => void> = [];
    let cleared = 0;
    const a = createScriptedProvider('a', [[]]);
    const health = createHealthMonitor({
      providers: [a],
      intervalMs: 15_000,
      timers: {
        setInterval: (callback, ms) => {
          expect(ms).toBe(15_000);
          scheduled.push(callback);
          return scheduled.length;
        },
        clearInterval: () => cleared++,
      },
    });
    health.start();
    health.start(); // idempotent
    await until(() => health.get('a')?.lastCheckedAt instanceof Date, 'the first probe');
    expect(scheduled).toHaveLength(1);
    a.probeError = providerError('a');
    scheduled[0]?.();
    await until(() => health.get('a')?.status === 'DOWN', 'provider a DOWN');
    health.stop();
    expect(cleared).toBe(1);
  });

  it('runs on real timers with a short interval', async () => {
    const a = createScriptedProvider('a', [[]]);
    const health = createHealthMonitor({ providers: [a], intervalMs: 20 });
    const events: string[] = [];
    health.onChange((s) => events.push(s.status));
    health.start();
    await until(() => health.get('a')?.lastCheckedAt instanceof Date, 'the first probe');
    a.probeError = providerError('a');
    await until(() => events.includes('DOWN'), 'a probe on the interval to see the failure');
    health.stop();
    expect(events).toEqual(['DOWN']);
  });
});

describe('health monitor: passive figures from the router', () => {
  it('tracks in-flight calls, time to first token and error rate, and degrades above the threshold', async () => {
    let now = 1_000_000;
    let script: 'ok' | 'fail' = 'ok';
    const a = createScriptedProvider('a', () =>
      script === 'ok' ? [text('x'), { type: 'delay', ms: 30 }, ...ok()] : [fail('a', { status: 500 })],
    );
    const health = createHealthMonitor({ providers: [a], now: () => now, windowMs: 60_000 });
    const events: string[] = [];
    health.onChange((s) => events.push(`${s.status}/${s.circuit}`));
    let clock = 0;
    const router = createRouter({
      providers: [a],
      defaultModel: 'a/m',
      recorder: health.recorder,
      now: () => (clock += 10),
      resilience: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 100 } },
    });

    const stream = router.stream({ messages })[Symbol.asyncIterator]();
    await stream.next(); // start
    expect(health.get('a')?.inFlight).toBe(1);
    await collect({ [Symbol.asyncIterator]: () => stream });
    expect(health.get('a')).toMatchObject({ inFlight: 0, ttftP50Ms: 10, ttftP95Ms: 10, errorRate: 0 });

    for (let i = 0; i < 3; i++) await collect(router.stream({ messages }));
    script = 'fail';
    for (let i = 0; i < 2; i++) await collect(router.stream({ messages }));
    expect(health.get('a')).toMatchObject({ status: 'DEGRADED', errorRate: 2 / 6, lastError: 'a failed' });
    expect(events).toEqual(['DEGRADED/CLOSED']);

    // The failures age out of the window.
    now += 61_000;
    await health.probeAll();
    expect(health.get('a')).toMatchObject({ status: 'UP', errorRate: 0, ttftP50Ms: null });
    expect(events).toEqual(['DEGRADED/CLOSED', 'UP/CLOSED']);
  });

  it('follows the circuit: OPEN is DOWN, HALF_OPEN is DEGRADED, CLOSED is UP again', async () => {
    let failing = true;
    const a = createScriptedProvider('a', () => (failing ? [fail('a', { status: 503 })] : ok()));
    const health = createHealthMonitor({ providers: [a] });
    const events: string[] = [];
    health.onChange((s) => events.push(`${s.status}/${s.circuit}`));
    const router = createRouter({
      providers: [a],
      defaultModel: 'a/m',
      recorder: health.recorder,
      resilience: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 2, halfOpenAfterMs: 50 } },
    });
    await collect(router.stream({ messages }));
    await collect(router.stream({ messages }));
    expect(health.get('a')).toMatchObject({
      status: 'DOWN',
      circuit: 'OPEN',
      deployments: [{ id: 'a/m', circuit: 'OPEN' }],
    });
    expect(health.overall()).toBe('down');

    failing = false;
    await sleep(70);
    const trial = router.stream({ messages })[Symbol.asyncIterator]();
    await trial.next();
    expect(events).toContain('DEGRADED/HALF_OPEN');
    await collect({ [Symbol.asyncIterator]: () => trial });
    expect(events.at(-1)).toBe('UP/CLOSED');
    expect(health.get('a')?.circuit).toBe('CLOSED');
  });

  it('one open deployment of a provider with several shows HALF_OPEN (DEGRADED), not DOWN', async () => {
    const a = createScriptedProvider('a', (i) => (i === 0 ? ok() : [fail('a', { status: 500 })]));
    const health = createHealthMonitor({ providers: [a] });
    const router = createRouter({
      providers: [a],
      defaultModel: 'a/good',
      recorder: health.recorder,
      resilience: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 1 } },
    });
    await collect(router.stream({ messages }));
    await collect(router.stream({ model: 'a/bad', messages }));
    expect(health.get('a')).toMatchObject({ status: 'DEGRADED', circuit: 'HALF_OPEN' });
  });

  it('a throwing listener does not break the others', async () => {
    const a = createScriptedProvider('a', [[]]);
    const health = createHealthMonitor({ providers: [a] });
    const seen: string[] = [];
    health.onChange(() => {
      throw new Error('listener bug');
    });
    const off = health.onChange((s) => seen.push(s.status));
    a.probeError = providerError('a');
    await health.probeAll();
    off();
    a.probeError = undefined;
    await health.probeAll();
    expect(seen).toEqual(['DOWN']);
  });
});
