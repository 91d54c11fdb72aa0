import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import {
  citySchema,
  describeChatProvider,
  describeChatProviderFeatures,
  drain,
  errorOf,
  type ProviderHarness,
  pngDataUrl,
  weatherTool,
} from './provider-conformance.js';

const create = (fake: FakeServer, options: { modelsRefreshMs?: number } = {}) =>
  createOpenAIProvider({ apiKey: 'sk-test', baseURL: fake.baseURL, ...options });

const harness: ProviderHarness = {
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
  rawStopSequence: 'stop',
  jsonReply: (json) => json,
  remoteImages: true,
  wire: {
    toolCall: (body) => expect(body.tools).toEqual([{ type: 'function', function: { ...weatherTool } }]),
    toolResult: (body, id) =>
      expect(body.messages).toEqual([
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', content: 'sunny', tool_call_id: id },
      ]),
    jsonSchema: (body) =>
      expect(body.response_format).toEqual({
        type: 'json_schema',
        json_schema: { name: 'city', schema: citySchema, strict: true },
      }),
    image: (body) =>
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is it' },
            { type: 'image_url', image_url: { url: pngDataUrl } },
          ],
        },
      ]),
    stop: (body) => expect(body.stop).toEqual([' there']),
  },
};
describeChatProvider(harness);
describeChatProviderFeatures(harness);

// With a fetch of its own, streaming chat goes through the SDK instead of stream-post.ts: the same behaviour.
describe('with its own fetch', () => {
  let streamingCalls = 0;
  const ownFetch: typeof fetch = (input, init) => {
    if (String(input).endsWith('/chat/completions')) streamingCalls++;
    return fetch(input, init);
  };
  const throughSdk: ProviderHarness = {
    ...harness,
    createProvider: (fake, options = {}) =>
      createOpenAIProvider({
        apiKey: 'sk-test',
        baseURL: fake.baseURL,
        fetch: ownFetch,
        ...options,
      }),
  };
  describeChatProvider(throughSdk);
  describeChatProviderFeatures(throughSdk);
  it('sent its chat calls through that fetch', () => expect(streamingCalls).toBeGreaterThan(10));
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
      headers: { authorization: 'Bearer sk-test', 'user-agent': 'switchyard' },
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

  const hello = [
    { role: 'system' as const, content: 'be brief' },
    { role: 'user' as const, content: 'hello there' },
  ];

  it('reports cached prompt tokens inside promptTokens, from the last chunk (whose choices are empty)', async () => {
    fake.setPromptCache({ read: 3 });
    const parts = await drain(provider.stream({ model: 'gpt-4o', messages: hello }));
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      usage: { promptTokens: 4, completionTokens: 3, cachedPromptTokens: 3 },
      finishReason: { unified: 'stop', raw: 'stop' },
    });
  });

  it('a stream cut before the usage chunk carries no usage; cut after it, the usage it reported', async () => {
    fake.faults.next({ cutAfterChunks: 2 });
    const early = await drain(provider.stream({ model: 'gpt-4o', messages: hello }));
    expect(errorOf(early)).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(early.at(-1)).not.toHaveProperty('usage');

    // role, three tokens, finish reason, usage: then the connection drops before [DONE]
    fake.setPromptCache({ read: 2 });
    fake.faults.next({ cutAfterChunks: 6 });
    const late = await drain(provider.stream({ model: 'gpt-4o', messages: hello }));
    expect(late.at(-1)).toMatchObject({
      type: 'error',
      usage: { promptTokens: 4, completionTokens: 3, cachedPromptTokens: 2 },
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
