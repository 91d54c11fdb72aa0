import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createRouter, type TrafficRecorder } from '../../src/providers/router/index.js';
import { collect, createScriptedProvider, fail, ok } from './helpers/scripted-provider.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

function recordingRecorder() {
  const changes: string[] = [];
  const recorder: TrafficRecorder = {
    callStarted: () => ({ firstToken() {}, succeeded() {}, failed() {}, abandoned() {} }),
    circuitChanged: (_provider, deploymentId, state) => changes.push(`${deploymentId}:${state}`),
  };
  return { changes, recorder };
}

/** A deployment's circuit as the router reported it: its last change, CLOSED before any. */
const circuit = (changes: string[], deploymentId: string) =>
  changes.findLast((c) => c.startsWith(`${deploymentId}:`))?.slice(deploymentId.length + 1) ?? 'CLOSED';

describe('circuit breaker per deployment', () => {
  it('opens after N consecutive failures, skips the deployment, half-opens after the cool-down, closes on success', async () => {
    let healthy = false;
    const a = createScriptedProvider('a', () => (healthy ? ok('a ok') : [fail('a', { status: 503 })]));
    const b = createScriptedProvider('b', [ok('b ok')]);
    const { changes, recorder } = recordingRecorder();
    const router = createRouter({
      providers: [a, b],
      aliases: {
        chat: {
          deployments: [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
          strategy: 'least-busy',
        },
      },
      random: () => 0.99, // least-busy ties keep the listed order with this draw
      recorder,
      // A cool-down long enough that the open-state checks fit in it on a loaded machine.
      resilience: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 2, halfOpenAfterMs: 1_000 } },
    });
    const first = async () => (await collect(router.stream({ model: 'chat', messages })))[0];

    expect(await first()).toMatchObject({ provider: 'b', attempt: 2 });
    expect(circuit(changes, 'a/m')).toBe('CLOSED');
    expect(await first()).toMatchObject({ provider: 'b', attempt: 2 });
    expect(circuit(changes, 'a/m')).toBe('OPEN');
    expect(a.calls).toHaveLength(2);

    // Open: a is skipped without a call.
    expect(await first()).toMatchObject({ provider: 'b', attempt: 1 });
    expect(a.calls).toHaveLength(2);

    // After the cool-down one trial call goes through; it fails, so the circuit opens again.
    await sleep(1_100);
    expect(await first()).toMatchObject({ provider: 'b', attempt: 2 });
    expect(a.calls).toHaveLength(3);
    expect(circuit(changes, 'a/m')).toBe('OPEN');

    // Next trial succeeds: closed again, and a serves.
    healthy = true;
    await sleep(1_100);
    expect(await first()).toMatchObject({ provider: 'a', attempt: 1 });
    expect(circuit(changes, 'a/m')).toBe('CLOSED');
    expect(changes).toEqual(['a/m:OPEN', 'a/m:HALF_OPEN', 'a/m:OPEN', 'a/m:HALF_OPEN', 'a/m:CLOSED']);
  });

  it('ends with PROVIDER_UNAVAILABLE when the only deployment’s circuit is open', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 500 })]]);
    const router = createRouter({
      providers: [a],
      defaultModel: 'a/m',
      resilience: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 1, halfOpenAfterMs: 60_000 } },
    });
    await collect(router.stream({ messages }));
    const parts = await collect(router.stream({ messages }));
    expect(parts).toEqual([
      { type: 'error', error: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', retryable: false }) },
    ]);
    expect((parts[0] as { error: Error }).error.message).toBe('a/m: circuit open after repeated failures');
    expect(a.calls).toHaveLength(1);
  });

  it('does not count rejected requests (400) or cancellations against the deployment', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 400 })]]);
    const { changes, recorder } = recordingRecorder();
    const router = createRouter({
      providers: [a],
      defaultModel: 'a/m',
      recorder,
      resilience: { breaker: { failureThreshold: 1 } },
    });
    await collect(router.stream({ messages }));
    await collect(router.stream({ messages, signal: AbortSignal.abort() }));
    expect(circuit(changes, 'a/m')).toBe('CLOSED');
  });

  it('counts retries: the breaker can open in the middle of one request’s retries', async () => {
    const a = createScriptedProvider('a', [[fail('a', { status: 500 })]]);
    const b = createScriptedProvider('b', [ok()]);
    const router = createRouter({
      providers: [a, b],
      aliases: {
        chat: {
          deployments: [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
        },
      },
      resilience: { retry: { maxRetries: 5, initialDelayMs: 1 }, breaker: { failureThreshold: 2 } },
    });
    const parts = await collect(router.stream({ model: 'chat', messages }));
    expect(a.calls).toHaveLength(2);
    expect(parts[0]).toMatchObject({ provider: 'b', attempt: 3 });
  });
});
