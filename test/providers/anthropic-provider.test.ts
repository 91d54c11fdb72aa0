import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.js';
import { createAnthropicUsage } from '../../src/providers/anthropic/anthropic-usage.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { type FakeServer, startAnthropicFake } from '../fakes/index.js';
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

const create = (fake: FakeServer, options: { modelsRefreshMs?: number; defaultMaxTokens?: number } = {}) =>
  createAnthropicProvider({ apiKey: 'sk-ant-test', baseURL: fake.baseURL, ...options });

const harness: ProviderHarness = {
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
  rawStopSequence: 'stop_sequence',
  jsonReply: (json) => ({ toolCalls: [{ name: 'json', arguments: json }] }),
  remoteImages: true,
  wire: {
    toolCall: (body) =>
      expect(body.tools).toEqual([
        { name: 'get_weather', description: 'Weather in a city', input_schema: weatherTool.parameters },
      ]),
    toolResult: (body, id) =>
      expect(body.messages).toEqual([
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'sunny' }] },
      ]),
    jsonSchema: (body) =>
      expect(body).toMatchObject({
        tools: [{ name: 'json', input_schema: citySchema }],
        tool_choice: { type: 'tool', name: 'json' },
      }),
    image: (body) =>
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pngDataUrl.split(',')[1] } },
            { type: 'text', text: 'what is it' },
          ],
        },
      ]),
    stop: (body) => expect(body.stop_sequences).toEqual([' there']),
  },
};
describeChatProvider(harness);
describeChatProviderFeatures(harness);

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

  const hello = [
    { role: 'system' as const, content: 'be brief' },
    { role: 'user' as const, content: 'hello there' },
  ];

  it('adds cache reads and writes to input_tokens for the whole prompt, and reports them apart', async () => {
    // on the wire: input_tokens 1, cache_read_input_tokens 2, cache_creation_input_tokens 1
    fake.setPromptCache({ read: 2, write: 1 });
    const parts = await drain(provider.stream({ model: 'claude-haiku-4-5', messages: hello }));
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      usage: { promptTokens: 4, completionTokens: 3, cachedPromptTokens: 2, cacheWritePromptTokens: 1 },
      finishReason: { unified: 'stop', raw: 'end_turn' },
    });
  });

  it('a stream cut mid-reply carries the prompt message_start reported; cut after message_delta, the output too', async () => {
    fake.setPromptCache({ read: 2 });
    fake.faults.next({ cutAfterChunks: 4 });
    const cut = await drain(provider.stream({ model: 'claude-haiku-4-5', messages: hello }));
    expect(errorOf(cut)).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(cut.at(-1)).toMatchObject({ type: 'error', usage: { promptTokens: 4, cachedPromptTokens: 2 } });
    expect((cut.at(-1) as { usage: object }).usage).not.toHaveProperty('completionTokens');

    // message_start, block start, ping, three deltas, block stop, message_delta; no message_stop
    fake.faults.next({ cutAfterChunks: 8 });
    const late = await drain(provider.stream({ model: 'claude-haiku-4-5', messages: hello }));
    expect(late.at(-1)).toMatchObject({
      type: 'error',
      usage: { promptTokens: 4, completionTokens: 3, cachedPromptTokens: 2 },
    });

    // refused before the message started: nothing was reported
    fake.faults.next({ status: 529 });
    const refused = await drain(provider.stream({ model: 'claude-haiku-4-5', messages: hello }));
    expect(refused.at(-1)).not.toHaveProperty('usage');
  });

  it('keeps message_start counts a message_delta leaves null, and takes its cumulative totals', () => {
    const usage = createAnthropicUsage();
    expect(usage.partial()).toBeUndefined();
    usage.start({
      input_tokens: 10,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: null,
      output_tokens: 1,
    } as Parameters<typeof usage.start>[0]);
    expect(usage.partial()).toEqual({ promptTokens: 110, cachedPromptTokens: 100 });
    usage.delta({
      input_tokens: null,
      cache_read_input_tokens: null,
      cache_creation_input_tokens: 5,
      output_tokens: 42,
    } as Parameters<typeof usage.delta>[0]);
    expect(usage.total()).toEqual({
      promptTokens: 115,
      completionTokens: 42,
      cachedPromptTokens: 100,
      cacheWritePromptTokens: 5,
    });
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
