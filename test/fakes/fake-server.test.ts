import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeServer, planReply, startOpenAIFake, tokenize } from './index.js';

describe('shared fake plumbing', () => {
  let fake: FakeServer;
  const statusOf = async (path: string) => (await fetch(fake.url + path)).status;

  beforeAll(async () => {
    fake = await startOpenAIFake();
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  it('applies a fault to the next N matching requests, then stops', async () => {
    fake.faults.next({ status: 503 }, 2);
    expect([await statusOf('/v1/models'), await statusOf('/v1/models'), await statusOf('/v1/models')]).toEqual([
      503, 503, 200,
    ]);
    expect(fake.faults.pending).toBe(0);
  });

  it('keeps an `always` fault until cleared, and filters faults by path', async () => {
    fake.faults.always({ status: 500, path: '/v1/embeddings' });
    expect(await statusOf('/v1/models')).toBe(200);
    const post = () => fetch(`${fake.url}/v1/embeddings`, { method: 'POST', body: '{"model":"m","input":"x"}' });
    expect((await post()).status).toBe(500);
    expect((await post()).status).toBe(500);
    fake.faults.clear();
    expect((await post()).status).toBe(200);
  });

  it('sends the fault headers and the provider error body', async () => {
    fake.faults.next({ status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT', message: 'slow down' });
    const res = await fetch(`${fake.url}/v1/models`);
    expect(res.headers.get('retry-after')).toBe('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(res.headers.get('retry-after-ms')).toBeNull();
    expect(await res.json()).toEqual({
      error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
  });

  it('resets the connection without a response', async () => {
    fake.faults.next({ reset: true });
    await expect(fetch(`${fake.url}/v1/models`)).rejects.toThrow(TypeError);
    expect(fake.requests[0]?.outcome).toBe('cut');
  });

  it('answers unknown routes and invalid JSON in the provider error shape', async () => {
    expect(await statusOf('/nope')).toBe(404);
    const res = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: '{oops' });
    expect(res.status).toBe(400);
    expect(fake.lastRequest()?.body).toBe('{oops');
  });

  it('restarts on the same port', async () => {
    const port = fake.port;
    await fake.restart();
    expect(fake.port).toBe(port);
    expect(fake.listening).toBe(true);
    expect(await statusOf('/v1/models')).toBe(200);
  });
});

describe('reply planning', () => {
  it('splits text into tokens that join back losslessly', () => {
    expect(tokenize(' a  b c ')).toEqual([' a', '  b', ' c', ' ']);
    expect(tokenize(' a  b c ').join('')).toBe(' a  b c ');
  });

  it('echoes the last user message and counts prompt words', () => {
    const plan = planReply({
      model: 'm',
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an answer' },
        { role: 'user', content: 'second' },
      ],
      maxTokens: 1,
    });
    expect(plan).toEqual({
      tokens: ['echo:'],
      text: 'echo:',
      toolCalls: [],
      stopSequence: undefined,
      promptTokens: 5,
      cachedPromptTokens: 0,
      cacheWritePromptTokens: 0,
      completionTokens: 1,
      truncated: true,
    });
  });
});
