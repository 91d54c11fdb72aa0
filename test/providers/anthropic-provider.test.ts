import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { type FakeServer, startAnthropicFake } from '../fakes/index.js';
import { describeChatProvider, drain, errorOf } from './provider-conformance.js';

const create = (fake: FakeServer, options: { modelsRefreshMs?: number; defaultMaxTokens?: number } = {}) =>
  createAnthropicProvider({ apiKey: 'sk-ant-test', baseURL: fake.baseURL, ...options });

describeChatProvider({
  kind: 'anthropic',
  startFake: startAnthropicFake,
  createProvider: create,
  model: 'claude-sonnet-4-6',
  chatPath: '/v1/messages',
  rawStop: 'end_turn',
  rawLength: 'max_tokens',
  chunksToFirstToken: 4,
  expectedModels: (provider) => [
    { id: 'claude-sonnet-4-6', provider, contextWindow: 200_000 },
    { id: 'claude-haiku-4-5', provider, contextWindow: 200_000 },
  ],
});

describe('anthropic adapter: wire details', () => {
  let fake: FakeServer;
  let provider: ChatProvider;
  beforeEach(async () => {
    fake = await startAnthropicFake();
    provider = create(fake);
  });
  afterEach(() => fake.close());

  it('moves system messages to `system`, merges same-role turns and defaults max_tokens', async () => {
    await drain(
      provider.stream({
        model: 'claude-sonnet-4-6',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
          { role: 'system', content: 'be kind' },
          { role: 'user', content: 'again' },
        ],
        temperature: 0.3,
      }),
    );
    const body = fake.lastRequest('/v1/messages')?.body as Record<string, unknown>;
    expect(body).toEqual({
      model: 'claude-sonnet-4-6',
      system: 'be brief\n\nbe kind',
      messages: [{ role: 'user', content: 'hi\n\nagain' }],
      max_tokens: 4096,
      stream: true,
    });
    expect(fake.lastRequest()?.headers).toMatchObject({ authorization: 'Bearer sk-ant-test' });
  });

  it('sends maxTokens, or the configured default', async () => {
    await drain(
      provider.stream({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }], maxTokens: 9 }),
    );
    expect(fake.lastRequest()?.body).toMatchObject({ max_tokens: 9 });
    const small = create(fake, { defaultMaxTokens: 256 });
    await drain(small.stream({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] }));
    expect(fake.lastRequest()?.body).toMatchObject({ max_tokens: 256 });
  });

  it('takes the context window from max_input_tokens, else from the known table', async () => {
    fake.setModels([{ id: 'claude-future', contextWindow: 1_000_000 }, { id: 'claude-other' }, { id: 'x-model' }]);
    expect(await provider.listModels()).toEqual([
      { id: 'claude-future', provider: 'anthropic', contextWindow: 1_000_000 },
      { id: 'claude-other', provider: 'anthropic', contextWindow: 200_000 },
      { id: 'x-model', provider: 'anthropic', contextWindow: undefined },
    ]);
  });

  it('reads a Retry-After HTTP date and maps 529 overloaded as retryable', async () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    fake.faults.next({ status: 529, retryAfter: inTenSeconds });
    const error = errorOf(await drain(provider.stream({ model: 'claude-haiku-4-5', messages: [] })));
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: 529, retryable: true });
    // an HTTP date has one-second resolution, and some time passes before parsing
    expect(error.retryAfterMs).toBeGreaterThan(5_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(10_000);
  });
});
