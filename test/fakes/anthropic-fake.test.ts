import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake } from './index.js';

describe('Anthropic fake, driven by the official SDK', () => {
  let fake: FakeServer;
  let client: Anthropic;

  beforeEach(async () => {
    fake ??= await startAnthropicFake();
    fake.reset();
    client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.baseURL, maxRetries: 0, logLevel: 'off' });
  });
  afterAll(() => fake.close());

  const base = {
    model: 'claude-sonnet-4-6',
    max_tokens: 100,
    system: 'be brief',
    messages: [{ role: 'user' as const, content: 'hello there' }],
  };

  it('streams the real event sequence', async () => {
    const stream = await client.messages.create({ ...base, stream: true });
    const events: string[] = [];
    let text = '';
    for await (const event of stream) {
      events.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_start') expect(event.message.usage.input_tokens).toBe(4);
      if (event.type === 'message_delta') {
        expect(event.delta.stop_reason).toBe('end_turn');
        expect(event.usage.output_tokens).toBe(3);
      }
    }
    expect(text).toBe('echo: hello there');
    expect(events).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(fake.lastRequest()).toMatchObject({
      path: '/v1/messages',
      headers: { authorization: 'Bearer sk-ant-test', 'anthropic-version': expect.any(String) },
      body: { system: 'be brief', max_tokens: 100, stream: true },
    });
  });

  it('is accumulated by the SDK MessageStream helper and answers non-streaming calls', async () => {
    const final = await client.messages.stream({ ...base, max_tokens: 2 }).finalMessage();
    expect(final.content).toMatchObject([{ type: 'text', text: 'echo: hello' }]);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage).toMatchObject({ input_tokens: 4, output_tokens: 2 });

    const message = await client.messages.create(base);
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 3 });
  });

  it('reports cache reads and writes apart from input_tokens, at message_start and cumulatively at message_delta', async () => {
    fake.setPromptCache(() => ({ read: 2, write: 1 }));
    try {
      const stream = await client.messages.create({ ...base, stream: true });
      const usages: unknown[] = [];
      for await (const event of stream) {
        if (event.type === 'message_start') usages.push(event.message.usage);
        if (event.type === 'message_delta') usages.push(event.usage);
      }
      const prompt = { input_tokens: 1, cache_read_input_tokens: 2, cache_creation_input_tokens: 1 };
      expect(usages).toEqual([
        expect.objectContaining({
          ...prompt,
          cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 0 },
        }),
        { ...prompt, output_tokens: 3 },
      ]);
      const message = await client.messages.create(base);
      expect(message.usage).toMatchObject({ ...prompt, output_tokens: 3 });
    } finally {
      fake.setPromptCache(undefined);
    }
    // a cache script cannot claim more than the prompt (4 tokens)
    fake.setPromptCache({ read: 3, write: 5 });
    const capped = await client.messages.create(base);
    fake.setPromptCache(undefined);
    expect(capped.usage).toMatchObject({ input_tokens: 0, cache_read_input_tokens: 3, cache_creation_input_tokens: 1 });
  });

  it('pages through the models list', async () => {
    fake.setModels([{ id: 'claude-a' }, { id: 'claude-b' }, { id: 'claude-c' }]);
    const ids: string[] = [];
    for await (const model of client.models.list({ limit: 2 })) ids.push(model.id);
    expect(ids).toEqual(['claude-a', 'claude-b', 'claude-c']);
    expect(fake.requests.map((r) => r.query)).toEqual([{ limit: '2' }, { limit: '2', after_id: 'claude-b' }]);
    const first = await client.models.list({ limit: 2 });
    expect(first.has_more).toBe(true);
    fake.setModels([{ id: 'claude-sonnet-4-6', contextWindow: 200_000 }, { id: 'claude-haiku-4-5' }]);
  });

  it('surfaces a 529 with Retry-After as an SDK APIError carrying the provider body', async () => {
    fake.faults.next({ status: 529, retryAfter: 3 });
    const error = await client.messages.create(base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const api = error as InstanceType<typeof Anthropic.APIError>;
    expect(api.status).toBe(529);
    expect(api.headers?.get('retry-after')).toBe('3');
    expect(api.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });

  it('throws from the SDK iterator on a cut stream and on a malformed event', async () => {
    for (const fault of [{ cutAfterChunks: 4 }, { malformedAfterChunks: 4 }]) {
      fake.faults.next(fault);
      const stream = await client.messages.create({ ...base, stream: true });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const event of stream) seen.push(event.type);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    }
  });

  it('records a client abort during a slow first token', async () => {
    fake.faults.next({ firstTokenDelayMs: 10_000 });
    const controller = new AbortController();
    const stream = await client.messages.create({ ...base, stream: true }, { signal: controller.signal });
    const record = fake.lastRequest();
    if (!record) throw new Error('no request recorded');
    controller.abort();
    for await (const _event of stream) throw new Error('no event expected');
    expect(await fake.settled(record)).toBe('aborted');
  });

  it('rejects a wrong key with the SDK AuthenticationError', async () => {
    const strict = await startAnthropicFake({ apiKey: 'sk-ant-right' });
    try {
      const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: strict.baseURL, maxRetries: 0 });
      await expect(wrong.models.list()).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    } finally {
      await strict.close();
    }
  });
});
