import OpenAI from 'openai';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeEmbedding } from './fake-embeddings.js';
import { type FakeServer, startOpenAIFake } from './index.js';

describe('OpenAI fake, driven by the official SDK', () => {
  let fake: FakeServer;
  let client: OpenAI;

  beforeEach(async () => {
    fake ??= await startOpenAIFake();
    fake.reset();
    client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
  });
  afterAll(() => fake.close());

  const messages = [
    { role: 'system' as const, content: 'be brief' },
    { role: 'user' as const, content: 'hello there' },
  ];

  it('streams role, content deltas, finish reason and the usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    const finishes: (string | null | undefined)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) deltas.push(content);
      finishes.push(chunk.choices[0]?.finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toEqual(['echo:', ' hello', ' there']);
    expect(finishes.filter(Boolean)).toEqual(['stop']);
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    expect(fake.lastRequest()).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-test' },
      body: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } },
      outcome: 'completed',
    });
  });

  it('answers a non-streaming completion with usage and honours max_completion_tokens', async () => {
    const full = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(full.choices[0]?.message.content).toBe('echo: hello there');
    expect(full.choices[0]?.finish_reason).toBe('stop');
    expect(full.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });

    const cut = await client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 2 });
    expect(cut.choices[0]?.message.content).toBe('echo: hello');
    expect(cut.choices[0]?.finish_reason).toBe('length');
  });

  it('reports cache hits as prompt_tokens_details.cached_tokens, inside prompt_tokens, in a last chunk without choices', async () => {
    fake.setPromptCache({ read: 3, write: 1 });
    try {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage).toMatchObject({
        prompt_tokens: 4,
        completion_tokens: 3,
        total_tokens: 7,
        prompt_tokens_details: { cached_tokens: 3 },
      });
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);

      const full = await client.chat.completions.create({ model: 'gpt-4o', messages });
      expect(full.usage?.prompt_tokens_details).toMatchObject({ cached_tokens: 3 });
      // OpenAI reports no cache writes: the prompt is not split further
      expect(JSON.stringify(full.usage)).not.toMatch(/creation|write/);
    } finally {
      fake.setPromptCache(undefined);
    }
    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages });
    expect(plain.usage?.prompt_tokens_details).toMatchObject({ cached_tokens: 0 });
  });

  it('plays a configured script', async () => {
    fake.setReply(['one', ' two']);
    const full = await client.chat.completions.create({ model: 'gpt-4o', messages });
    fake.setReply(undefined);
    expect(full.choices[0]?.message.content).toBe('one two');
  });

  it('lists models and embeds deterministically in base64 and float formats', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']);

    const base64 = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      dimensions: 8,
    });
    expect(fake.lastRequest()?.body).toMatchObject({ encoding_format: 'base64', dimensions: 8 });
    expect(base64.data.map((d) => d.embedding)).toEqual([fakeEmbedding('a', 8), fakeEmbedding('b', 8)]);
    const float = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'a',
      dimensions: 8,
      encoding_format: 'float',
    });
    expect(float.data[0]?.embedding).toEqual(fakeEmbedding('a', 8));
  });

  it('surfaces a 429 with Retry-After headers as the SDK RateLimitError', async () => {
    fake.faults.next({ status: 429, retryAfter: 2, retryAfterMs: 1500 });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rate = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rate.headers.get('retry-after')).toBe('2');
    expect(rate.headers.get('retry-after-ms')).toBe('1500');
    expect(rate.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    // one-shot: the next request succeeds
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).resolves.toBeDefined();
  });

  it('throws from the SDK iterator when the stream is cut or malformed', async () => {
    const read = async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
      const seen: string[] = [];
      try {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
      } catch (error) {
        return { seen, error };
      }
      return { seen, error: undefined };
    };
    fake.faults.next({ cutAfterChunks: 2 });
    const cut = await read();
    expect(cut.seen).toEqual(['', 'echo:']);
    expect(cut.error).toBeInstanceOf(Error);
    expect(fake.requests[0]?.outcome).toBe('cut');

    fake.faults.next({ malformedAfterChunks: 1 });
    const malformed = await read();
    expect(malformed.seen).toEqual(['']);
    expect(malformed.error).toBeInstanceOf(SyntaxError);
  });

  it('records a client abort mid-stream', async () => {
    fake.faults.next({ stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages, stream: true },
      { signal: controller.signal },
    );
    for await (const _chunk of stream) controller.abort();
    const record = fake.requests[0];
    if (!record) throw new Error('no request recorded');
    expect(await fake.settled(record)).toBe('aborted');
  });

  it('refuses connections while stopped and answers again on the same port', async () => {
    const port = fake.port;
    await fake.stop();
    const error = await client.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    await fake.start();
    expect(fake.port).toBe(port);
    await expect(client.models.list()).resolves.toBeDefined();
  });

  it('checks the API key and unknown models when asked to', async () => {
    const strict = await startOpenAIFake({ apiKey: 'sk-right', strictModels: true });
    try {
      const wrongKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: strict.baseURL, maxRetries: 0 });
      await expect(wrongKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ apiKey: 'sk-right', baseURL: strict.baseURL, maxRetries: 0 });
      const error = await right.chat.completions.create({ model: 'gpt-9', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as Error).message).toContain('gpt-9');
    } finally {
      await strict.close();
    }
  });
});
