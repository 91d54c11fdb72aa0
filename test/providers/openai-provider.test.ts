import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { describeChatProvider, drain, errorOf } from './provider-conformance.js';

const create = (fake: FakeServer, options: { modelsRefreshMs?: number } = {}) =>
  createOpenAIProvider({ apiKey: 'sk-test', baseURL: fake.baseURL, ...options });

describeChatProvider({
  kind: 'openai',
  startFake: startOpenAIFake,
  createProvider: create,
  model: 'gpt-4o-mini',
  chatPath: '/v1/chat/completions',
  rawStop: 'stop',
  rawLength: 'length',
  chunksToFirstToken: 2,
  expectedModels: (provider) => [
    { id: 'gpt-4o-mini', provider, contextWindow: 128_000 },
    { id: 'gpt-4o', provider, contextWindow: 128_000 },
    { id: 'text-embedding-3-small', provider, contextWindow: 8_191 },
  ],
  embedModel: 'text-embedding-3-small',
});

describe('openai adapter: wire details', () => {
  let fake: FakeServer;
  let provider: ChatProvider;
  beforeEach(async () => {
    fake = await startOpenAIFake();
    provider = create(fake);
  });
  afterEach(() => fake.close());

  it('sends roles as they are, sampling options and the usage request', async () => {
    await drain(
      provider.stream({
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'again' },
        ],
        temperature: 0.3,
        maxTokens: 50,
      }),
    );
    expect(fake.lastRequest()).toMatchObject({
      headers: { authorization: 'Bearer sk-test', 'x-stainless-retry-count': '0' },
      body: {
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'again' },
        ],
        temperature: 0.3,
        max_completion_tokens: 50,
        stream: true,
        stream_options: { include_usage: true },
      },
    });
  });

  it('prefers retry-after-ms over Retry-After', async () => {
    fake.faults.next({ status: 429, retryAfter: 2, retryAfterMs: 1500 });
    expect(errorOf(await drain(provider.stream({ model: 'gpt-4o', messages: [] })))).toMatchObject({
      retryAfterMs: 1500,
    });
  });

  it('uses defaultModel when a request names none', async () => {
    const withDefault = createOpenAIProvider({ apiKey: 'k', baseURL: fake.baseURL, defaultModel: 'gpt-4o' });
    await drain(withDefault.stream({ model: '', messages: [{ role: 'user', content: 'x' }] }));
    expect(fake.lastRequest()?.body).toMatchObject({ model: 'gpt-4o' });
  });
});
