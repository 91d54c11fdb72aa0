import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOllamaProvider } from '../../src/providers/ollama/ollama-provider.js';
import type { ChatProvider } from '../../src/providers/types.js';
import { type FakeServer, startOllamaFake } from '../fakes/index.js';
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

const create = (fake: FakeServer, options: { modelsRefreshMs?: number; showModelDetails?: boolean } = {}) =>
  createOllamaProvider({ host: fake.baseURL, ...options });

const harness: ProviderHarness = {
  kind: 'ollama',
  startFake: startOllamaFake,
  createProvider: create,
  model: 'llama3.2',
  chatPath: '/api/chat',
  rawStop: 'stop',
  rawLength: 'length',
  chunksToFirstToken: 1,
  expectedModels: (provider) => [
    { id: 'llama3.2:latest', provider, contextWindow: 131_072 },
    { id: 'nomic-embed-text:latest', provider, contextWindow: undefined },
  ],
  embedModel: 'nomic-embed-text',
  rawStopSequence: 'stop',
  jsonReply: (json) => json,
  remoteImages: false,
  wire: {
    toolCall: (body) => expect(body.tools).toEqual([{ type: 'function', function: { ...weatherTool } }]),
    toolResult: (body) =>
      expect(body.messages).toEqual([
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        { role: 'tool', content: 'sunny', tool_name: 'get_weather' },
      ]),
    jsonSchema: (body) => expect(body.format).toEqual(citySchema),
    image: (body) =>
      expect(body.messages).toEqual([{ role: 'user', content: 'what is it', images: [pngDataUrl.split(',')[1]] }]),
    stop: (body) => expect(body.options).toMatchObject({ stop: [' there'] }),
  },
};
describeChatProvider(harness);
describeChatProviderFeatures(harness);

describe('ollama adapter: wire details', () => {
  let fake: FakeServer;
  let provider: ChatProvider;
  beforeEach(async () => {
    fake = await startOllamaFake();
    provider = create(fake);
  });
  afterEach(() => fake.close());

  it('sends messages as they are with temperature and num_predict in options', async () => {
    const messages = [
      { role: 'system' as const, content: 'be brief' },
      { role: 'user' as const, content: 'hi' },
    ];
    await drain(provider.stream({ model: 'llama3.2', messages, temperature: 0.3, maxTokens: 50 }));
    expect(fake.lastRequest()?.body).toEqual({
      model: 'llama3.2',
      messages,
      stream: true,
      options: { temperature: 0.3, num_predict: 50 },
    });
  });

  it('reads Retry-After from the response although the SDK error drops headers', async () => {
    fake.faults.next({ status: 503, retryAfter: 1 });
    expect(errorOf(await drain(provider.stream({ model: 'llama3.2', messages: [] })))).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      status: 503,
      retryAfterMs: 1000,
    });
  });

  it('lists models without /api/show when asked not to', async () => {
    const plain = create(fake, { showModelDetails: false });
    expect((await plain.listModels()).map((m) => m.contextWindow)).toEqual([undefined, undefined]);
    expect(fake.requests.map((r) => r.path)).toEqual(['/api/tags']);
  });

  it('maps an unknown model (404) to UPSTREAM_ERROR', async () => {
    const strict = await startOllamaFake({ strictModels: true });
    try {
      const error = errorOf(await drain(create(strict).stream({ model: 'mistral', messages: [] })));
      expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', status: 404, retryable: false });
      expect(error.message).toContain('model "mistral" not found');
    } finally {
      await strict.close();
    }
  });
});
