import { Ollama } from 'ollama';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeEmbedding } from './fake-embeddings.js';
import { type FakeServer, startOllamaFake } from './index.js';

describe('Ollama fake, driven by the official SDK', () => {
  let fake: FakeServer;
  let client: Ollama;

  beforeEach(async () => {
    fake ??= await startOllamaFake();
    fake.reset();
    client = new Ollama({ host: fake.baseURL });
  });
  afterAll(() => fake.close());

  const messages = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello there' },
  ];

  it('streams NDJSON chunks and a final done chunk with counts', async () => {
    const stream = await client.chat({ model: 'llama3.2', messages, stream: true, options: { temperature: 0.2 } });
    const parts: string[] = [];
    let last: { done: boolean; done_reason: string; prompt_eval_count: number; eval_count: number } | undefined;
    for await (const part of stream) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts).toEqual(['echo:', ' hello', ' there', '']);
    expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 4, eval_count: 3 });
    expect(fake.lastRequest()).toMatchObject({
      path: '/api/chat',
      headers: { 'content-type': 'application/json' },
      body: { model: 'llama3.2', stream: true, options: { temperature: 0.2 } },
    });
  });

  it('answers non-streaming chats and honours num_predict', async () => {
    const reply = await client.chat({ model: 'llama3.2', messages, options: { num_predict: 1 } });
    expect(reply.message).toEqual({ role: 'assistant', content: 'echo:' });
    expect(reply).toMatchObject({ done: true, done_reason: 'length', eval_count: 1 });
  });

  it('lists tags, reports its version, shows a model and embeds', async () => {
    const list = await client.list();
    expect(list.models.map((m) => m.name)).toEqual(['llama3.2:latest', 'nomic-embed-text:latest']);
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    const shown = await client.show({ model: 'llama3.2' });
    expect(shown.model_info).toMatchObject({ 'llama.context_length': 131_072 });
    const embedded = await client.embed({ model: 'nomic-embed-text', input: ['a', 'b'], dimensions: 4 });
    expect(embedded.embeddings).toEqual([fakeEmbedding('a', 4), fakeEmbedding('b', 4)]);
  });

  it('surfaces a status fault as the SDK ResponseError with the message from the body', async () => {
    fake.faults.next({ status: 503, message: 'server busy' });
    const error = await client.chat({ model: 'llama3.2', messages }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 503, error: 'server busy' });
  });

  it('makes the SDK iterator throw on a cut stream and a malformed line', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    for (const fault of [{ cutAfterChunks: 2 }, { malformedAfterChunks: 2 }]) {
      fake.faults.next(fault);
      const stream = await client.chat({ model: 'llama3.2', messages, stream: true });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const part of stream) seen.push(part.message.content);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(seen).toEqual(['echo:', ' hello']);
    }
    // the SDK skips a line it cannot parse with a warning, then fails for want of a done chunk
    expect(warn).toHaveBeenCalledWith('invalid json: ', expect.stringContaining('broken'));
    warn.mockRestore();
  });

  it('records an abort from the SDK iterator', async () => {
    fake.faults.next({ stallAfterChunks: 1 });
    const stream = await client.chat({ model: 'llama3.2', messages, stream: true });
    const error = await (async () => {
      for await (const _part of stream) stream.abort();
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    const record = fake.requests[0];
    if (!record) throw new Error('no request recorded');
    expect(await fake.settled(record)).toBe('aborted');
  });

  it('answers 404 for unknown models in strict mode, with or without the :latest tag', async () => {
    const strict = await startOllamaFake({ strictModels: true });
    try {
      const strictClient = new Ollama({ host: strict.baseURL });
      await expect(strictClient.chat({ model: 'llama3.2:latest', messages })).resolves.toBeDefined();
      const error = await strictClient.chat({ model: 'mistral', messages }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status_code: 404, error: 'model "mistral" not found, try pulling it first' });
    } finally {
      await strict.close();
    }
  });
});
