import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../src/config/router-schema.js';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.js';
import { createHealthMonitor } from '../../src/providers/health/index.js';
import { createOllamaProvider } from '../../src/providers/ollama/ollama-provider.js';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.js';
import { ProviderError } from '../../src/providers/provider-error.js';
import { createRouter, type RoutedStreamPart, type TrafficRecorder } from '../../src/providers/router/index.js';
import type { ChatProvider } from '../../src/providers/types.js';
import {
  type FakeServer,
  type RequestOutcome,
  startAnthropicFake,
  startOllamaFake,
  startOpenAIFake,
} from '../fakes/index.js';
import { collect, textOf } from './helpers/scripted-provider.js';

/**
 * The router's resilience end to end: the real adapters (official SDKs) over HTTP to the
 * wire-faithful fakes, instead of the scripted in-process providers of the other router tests.
 */

const OPENAI = 'openai/gpt-4o-mini';
const ANTHROPIC = 'anthropic/claude-haiku-4-5';
const OLLAMA = 'ollama/llama3.2';
const chatPath = { openai: '/v1/chat/completions', anthropic: '/v1/messages', ollama: '/api/chat' } as const;
type Kind = keyof typeof chatPath;

const messages = [{ role: 'user' as const, content: 'hi' }];
const replies: Record<Kind, string> = {
  openai: 'Hello from GPT',
  anthropic: 'Hello from Claude',
  ollama: 'Hello from Llama',
};

let fakes: Record<Kind, FakeServer>;

beforeAll(async () => {
  const [openai, anthropic, ollama] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
  fakes = { openai, anthropic, ollama };
});
afterAll(() => Promise.all(Object.values(fakes).map((f) => f.close())));
beforeEach(() => {
  for (const kind of Object.keys(fakes) as Kind[]) {
    fakes[kind].reset();
    fakes[kind].setReply(replies[kind]);
  }
});

/** Chat requests a fake received (the SDKs send nothing else here, but be exact). */
const chatRequests = (kind: Kind) => fakes[kind].requests.filter((r) => r.path === chatPath[kind]);

function realProviders(): ChatProvider[] {
  return [
    createOpenAIProvider({ apiKey: 'sk-test', baseURL: fakes.openai.baseURL }),
    createAnthropicProvider({ apiKey: 'sk-ant-test', baseURL: fakes.anthropic.baseURL }),
    createOllamaProvider({ host: fakes.ollama.baseURL }),
  ];
}

type Resilience = NonNullable<RouterConfigInput['resilience']>;
const noRetries: Resilience['retry'] = { maxRetries: 0, initialDelayMs: 1, maxDelayMs: 1 };

/** Alias `chat`: the OpenAI fake first, then `fallbacks`. Backoff jitter is 0 (random() = 0). */
function routerFor(options: {
  fallbacks?: string[];
  resilience?: Resilience;
  recorder?: TrafficRecorder;
  providers?: ChatProvider[];
}) {
  return createRouter({
    providers: options.providers ?? realProviders(),
    aliases: { chat: { deployments: [{ provider: 'openai', model: 'gpt-4o-mini' }], fallbacks: options.fallbacks } },
    resilience: options.resilience ?? { retry: noRetries },
    recorder: options.recorder,
    random: () => 0,
  });
}

type ErrorPart = Extract<RoutedStreamPart, { type: 'error' }>;
type StartPart = Extract<RoutedStreamPart, { type: 'start' }>;

const types = (parts: RoutedStreamPart[]) => parts.map((p) => p.type);

function startOf(parts: RoutedStreamPart[]): StartPart {
  const first = parts[0];
  if (first?.type !== 'start') throw new Error(`expected a start part first, got ${JSON.stringify(parts)}`);
  return first;
}

/** The terminal part, which must be a typed ProviderError. */
function errorOf(parts: RoutedStreamPart[]): ErrorPart['error'] {
  const last = parts.at(-1);
  if (last?.type !== 'error') throw new Error(`expected an error part last, got ${JSON.stringify(parts)}`);
  expect(ProviderError.isInstance(last.error)).toBe(true);
  return last.error;
}

/** A fake's first token later than any test's timeout: the fakes wake early when the client leaves. */
const NEVER_MS = 600_000;
const FIRST_TOKEN_MS = 3_000;

/** Generous: on a loaded machine the fake can see the close well after the client made it. */
const OUTCOME_WAIT_MS = 60_000;

/** The fake's view of how a request ended, or a clear failure if it never settles. */
async function outcomeOf(kind: Kind, index: number): Promise<RequestOutcome> {
  const record = chatRequests(kind)[index];
  if (!record) throw new Error(`${kind} fake has no chat request #${index}`);
  const timer = sleep(OUTCOME_WAIT_MS).then(() => `still ${record.outcome} after ${OUTCOME_WAIT_MS} ms` as const);
  return Promise.race([fakes[kind].settled(record), timer]) as Promise<RequestOutcome>;
}

describe('router through the real adapters and the HTTP fakes', () => {
  it('falls back to Anthropic when OpenAI answers 503 before the first token', async () => {
    fakes.openai.faults.always({ path: chatPath.openai, status: 503 });
    const router = routerFor({
      fallbacks: [ANTHROPIC],
      resilience: { retry: { ...noRetries, maxRetries: 1 } },
    });

    const parts = await collect(router.stream({ model: 'chat', messages }));

    expect(types(parts)).toEqual(['start', 'text-delta', 'text-delta', 'text-delta', 'finish']);
    expect(startOf(parts)).toMatchObject({
      provider: 'anthropic',
      kind: 'anthropic',
      model: 'claude-haiku-4-5',
      deploymentId: ANTHROPIC,
      attempt: 3, // two OpenAI tries (one retry), then the fallback
    });
    expect(textOf(parts)).toBe(replies.anthropic);
    expect(chatRequests('openai')).toHaveLength(2);
    expect(await outcomeOf('openai', 0)).toBe('completed'); // the 503 body was sent in full
    expect(await outcomeOf('openai', 1)).toBe('completed');
    expect(chatRequests('anthropic')).toHaveLength(1);
    expect(chatRequests('anthropic')[0]?.body).toMatchObject({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
  });

  it('does not fall back (or retry) once text has been sent: a cut stream ends with an error part', async () => {
    fakes.openai.setReply('one two three four five');
    // SSE events: the role chunk, then one per token; the socket is destroyed before the 4th.
    fakes.openai.faults.next({ path: chatPath.openai, cutAfterChunks: 3 });
    const circuitChanges: string[] = [];
    const router = routerFor({
      fallbacks: [ANTHROPIC],
      resilience: { retry: { ...noRetries, maxRetries: 2 } },
      recorder: {
        callStarted: () => ({ firstToken() {}, succeeded() {}, failed() {}, abandoned() {} }),
        circuitChanged: (_provider, id, state) => circuitChanges.push(`${id}:${state}`),
      },
    });

    const parts = await collect(router.stream({ model: 'chat', messages }));

    expect(types(parts)).toEqual(['start', 'text-delta', 'text-delta', 'error']);
    expect(startOf(parts)).toMatchObject({ provider: 'openai', deploymentId: OPENAI, attempt: 1 });
    expect(textOf(parts)).toBe('one two');
    expect(errorOf(parts)).toMatchObject({ provider: 'openai', code: 'UPSTREAM_ERROR' });
    expect(chatRequests('openai')).toHaveLength(1);
    expect(await outcomeOf('openai', 0)).toBe('cut');
    expect(chatRequests('anthropic')).toHaveLength(0);
    // The breaker guards the first token only.
    expect(circuitChanges).toEqual([]);
  });

  it.each([
    { kind: 'openai' as const, model: OPENAI, fault: { retryAfterMs: 300 }, waitMs: 300 },
    { kind: 'anthropic' as const, model: ANTHROPIC, fault: { retryAfter: 1 }, waitMs: 1_000 },
  ])(
    'waits for $kind Retry-After ($fault) on a 429, then retries the same deployment',
    async ({ kind, model, fault, waitMs }) => {
      fakes[kind].faults.next({ path: chatPath[kind], status: 429, ...fault });
      // Without Retry-After the backoff would be 0 ms (random() = 0, maxDelayMs 1).
      const router = routerFor({
        resilience: { retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 5_000 } },
      });

      const started = performance.now();
      const parts = await collect(router.stream({ model, messages }));
      const elapsed = performance.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(waitMs - 20);
      expect(startOf(parts)).toMatchObject({ provider: kind, deploymentId: model, attempt: 2 });
      expect(textOf(parts)).toBe(replies[kind]);
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'stop' } });
      expect(chatRequests(kind)).toHaveLength(2);
      expect(await outcomeOf(kind, 1)).toBe('completed');
      expect(fakes[kind].faults.pending).toBe(0);
    },
  );

  it('opens the circuit after repeated 503s, skips the deployment, then closes after a successful trial', async () => {
    fakes.openai.faults.always({ path: chatPath.openai, status: 503 });
    const providers = realProviders();
    const monitor = createHealthMonitor({ providers });
    const changes: string[] = [];
    const recorder: TrafficRecorder = {
      callStarted: (provider, id, operation) => monitor.recorder.callStarted(provider, id, operation),
      circuitChanged(provider, id, state) {
        changes.push(`${id}:${state}`);
        monitor.recorder.circuitChanged(provider, id, state);
      },
    };
    // Long enough that checking the open state below fits in it even on a loaded machine.
    const halfOpenAfterMs = 3_000;
    const router = routerFor({
      providers,
      recorder,
      fallbacks: [ANTHROPIC],
      resilience: { retry: noRetries, breaker: { failureThreshold: 2, halfOpenAfterMs } },
    });
    const run = (model: string) => collect(router.stream({ model, messages }));

    // Two failures (each falls back): the second opens the circuit.
    expect(startOf(await run('chat'))).toMatchObject({ provider: 'anthropic', attempt: 2 });
    expect(monitor.get('openai')?.circuit).toBe('CLOSED');
    expect(startOf(await run('chat'))).toMatchObject({ provider: 'anthropic', attempt: 2 });
    const openedAt = performance.now();
    expect(monitor.get('openai')?.circuit).toBe('OPEN');
    expect(chatRequests('openai')).toHaveLength(2);
    expect(monitor.get('openai')).toMatchObject({ circuit: 'OPEN', status: 'DOWN' });

    // Open: the alias goes straight to the fallback, and OpenAI alone fails fast, both without a request.
    const skipped = await run('chat');
    expect(startOf(skipped)).toMatchObject({ provider: 'anthropic', attempt: 1 });
    expect(textOf(skipped)).toBe(replies.anthropic);
    const refused = await run(OPENAI);
    expect(types(refused)).toEqual(['error']);
    expect(errorOf(refused)).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: `${OPENAI}: circuit open after repeated failures`,
    });
    expect(chatRequests('openai')).toHaveLength(2);
    // The cool-down must not have run out while checking the open state (else the above proves little).
    expect(performance.now() - openedAt).toBeLessThan(halfOpenAfterMs);

    // Cool-down passes with OpenAI healthy again: one trial call reaches it, succeeds and closes the circuit.
    fakes.openai.faults.clear();
    await sleep(halfOpenAfterMs + 100);
    const trial = await run('chat');
    expect(startOf(trial)).toMatchObject({ provider: 'openai', deploymentId: OPENAI, attempt: 1 });
    expect(textOf(trial)).toBe(replies.openai);
    expect(chatRequests('openai')).toHaveLength(3);
    expect(monitor.get('openai')?.circuit).toBe('CLOSED');
    expect(monitor.get('openai')).toMatchObject({ circuit: 'CLOSED' });
    expect(changes).toEqual([`${OPENAI}:OPEN`, `${OPENAI}:HALF_OPEN`, `${OPENAI}:CLOSED`]);
    expect(chatRequests('anthropic')).toHaveLength(3);
  });

  it.each([
    { kind: 'openai' as const, model: OPENAI },
    { kind: 'anthropic' as const, model: ANTHROPIC },
    { kind: 'ollama' as const, model: OLLAMA },
  ])(
    'an abort after the first $kind delta ends with CANCELLED and closes the upstream request',
    async ({ kind, model }) => {
      fakes[kind].setReply('alpha beta gamma delta epsilon');
      fakes[kind].faults.always({ path: chatPath[kind], tokenDelayMs: 200 });
      const router = routerFor({
        fallbacks: [ANTHROPIC, OLLAMA],
        resilience: { retry: { ...noRetries, maxRetries: 2 } },
      });
      const controller = new AbortController();

      const parts: RoutedStreamPart[] = [];
      for await (const part of router.stream({ model, messages, signal: controller.signal })) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }

      expect(types(parts)).toEqual(['start', 'text-delta', 'error']);
      expect(startOf(parts)).toMatchObject({ provider: kind, attempt: 1 });
      expect(textOf(parts)).toBe('alpha');
      expect(errorOf(parts)).toMatchObject({ code: 'CANCELLED', retryable: false });
      expect(chatRequests(kind)).toHaveLength(1);
      expect(await outcomeOf(kind, 0)).toBe('aborted');
      // No retry or fallback after a cancel.
      const others = (Object.keys(fakes) as Kind[]).filter((k) => k !== kind);
      for (const other of others) expect(chatRequests(other)).toHaveLength(0);
    },
  );

  it('an abort before the first token ends with CANCELLED alone: no retry, no fallback', async () => {
    // A first token later than the test's timeout: only the abort can end this in time.
    fakes.openai.faults.always({ path: chatPath.openai, firstTokenDelayMs: NEVER_MS });
    const router = routerFor({ fallbacks: [ANTHROPIC], resilience: { retry: { ...noRetries, maxRetries: 2 } } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const parts = await collect(router.stream({ model: 'chat', messages, signal: controller.signal }));

    expect(types(parts)).toEqual(['error']);
    expect(errorOf(parts)).toMatchObject({ code: 'CANCELLED', retryable: false });
    expect(chatRequests('openai')).toHaveLength(1);
    expect(await outcomeOf('openai', 0)).toBe('aborted');
    expect(chatRequests('anthropic')).toHaveLength(0);
  });

  it('falls back to Ollama when OpenAI sends no first token in time, aborting the slow call', async () => {
    fakes.openai.faults.always({ path: chatPath.openai, firstTokenDelayMs: NEVER_MS });
    // The limit applies to the fallback's call too: generous, so a loaded machine's Ollama fits.
    const router = routerFor({
      fallbacks: [OLLAMA],
      resilience: { retry: noRetries, timeouts: { firstTokenMs: FIRST_TOKEN_MS } },
    });

    const started = performance.now();
    const parts = await collect(router.stream({ model: 'chat', messages }));

    expect(startOf(parts)).toMatchObject({ provider: 'ollama', kind: 'ollama', deploymentId: OLLAMA, attempt: 2 });
    expect(textOf(parts)).toBe(replies.ollama);
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(FIRST_TOKEN_MS - 10);
    expect(chatRequests('openai')).toHaveLength(1);
    expect(await outcomeOf('openai', 0)).toBe('aborted');
    expect(chatRequests('ollama')).toHaveLength(1);
  });

  it('without a fallback, a first-token timeout is a PROVIDER_UNAVAILABLE error naming the limit', async () => {
    fakes.openai.faults.always({ path: chatPath.openai, firstTokenDelayMs: NEVER_MS });
    const router = routerFor({ fallbacks: [], resilience: { retry: noRetries, timeouts: { firstTokenMs: 150 } } });

    const parts = await collect(router.stream({ model: 'chat', messages }));

    expect(types(parts)).toEqual(['error']);
    expect(errorOf(parts)).toMatchObject({
      provider: 'openai',
      code: 'PROVIDER_UNAVAILABLE',
      message: 'openai sent no first token within 150 ms',
      retryable: true,
    });
    expect(chatRequests('openai')).toHaveLength(1);
    expect(await outcomeOf('openai', 0)).toBe('aborted');
  });

  it.each([
    { kind: 'anthropic' as const, model: ANTHROPIC, raw: 'end_turn' },
    { kind: 'ollama' as const, model: OLLAMA, raw: 'stop' },
    { kind: 'openai' as const, model: OPENAI, raw: 'stop' },
  ])(
    'streams $kind through the router with the fake token counts as the finish usage',
    async ({ kind, model, raw }) => {
      fakes[kind].setReply('Once upon a time');
      const router = routerFor({});

      const parts = await collect(
        router.stream({
          model,
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'tell me a story' },
          ],
        }),
      );

      expect(types(parts)).toEqual(['start', 'text-delta', 'text-delta', 'text-delta', 'text-delta', 'finish']);
      expect(startOf(parts)).toMatchObject({ provider: kind, kind, deploymentId: model, attempt: 1 });
      expect(textOf(parts)).toBe('Once upon a time');
      // The fakes count one token per word: 2 + 4 prompt words, 4 reply words.
      expect(parts.at(-1)).toEqual({
        type: 'finish',
        usage: { promptTokens: 6, completionTokens: 4 },
        finishReason: { unified: 'stop', raw },
      });
      expect(chatRequests(kind)).toHaveLength(1);
    },
  );
});
