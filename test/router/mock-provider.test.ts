import { describe, expect, it } from 'vitest';
import { createMockProvider } from '../../src/providers/mock/index.js';
import { createRouter } from '../../src/providers/router/index.js';
import { collect, createScriptedProvider, textOf } from './helpers/scripted-provider.js';

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Hello   there, mock!' },
];

describe('mock provider', () => {
  it('streams a deterministic reply to the last user message, word by word, then usage and stop', async () => {
    const mock = createMockProvider({ tokenDelayMs: 0 });
    const parts = await collect(mock.stream({ model: 'mock-echo', messages }));
    expect(parts.filter((p) => p.type === 'text-delta').map((p) => p.text)).toEqual([
      'Mock',
      ' reply',
      ' to:',
      ' Hello',
      ' there,',
      ' mock!',
    ]);
    expect(textOf(parts)).toBe('Mock reply to: Hello there, mock!');
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      usage: { promptTokens: 3 + 5, completionTokens: 6 },
      finishReason: { unified: 'stop', raw: 'stop' },
    });
    expect(await collect(mock.stream({ model: 'mock-echo', messages }))).toEqual(parts);
  });

  it('stops at maxTokens with finish reason length', async () => {
    const mock = createMockProvider({ tokenDelayMs: 0 });
    const parts = await collect(mock.stream({ model: 'mock-echo', messages, maxTokens: 2 }));
    expect(textOf(parts)).toBe('Mock reply');
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'length' } });
  });

  it('paces tokens and ends with CANCELLED when aborted', async () => {
    const mock = createMockProvider({ tokenDelayMs: 30 });
    const controller = new AbortController();
    const parts = [];
    for await (const part of mock.stream({ model: 'mock-echo', messages, signal: controller.signal })) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts.map((p) => p.type)).toEqual(['text-delta', 'error']);
    expect(parts[1]).toMatchObject({ type: 'error', error: { code: 'CANCELLED', provider: 'mock' } });
  });

  it('labels itself: kind mock, model ids starting with mock-', async () => {
    const mock = createMockProvider({ name: 'demo' });
    expect(mock.kind).toBe('mock');
    expect(await mock.listModels()).toEqual([{ id: 'mock-echo', provider: 'demo', contextWindow: 8192 }]);
    await expect(mock.probe(new AbortController().signal)).resolves.toBeUndefined();
  });

  it('embeds deterministically into unit vectors where shared words score higher', async () => {
    const mock = createMockProvider();
    const embed = async (input: string[]) =>
      (await mock.embed?.({ model: 'mock-echo', input, dimensions: 64 }))?.embeddings ?? [];
    const [a, b, c, empty] = await embed([
      'the cat sat on the mat',
      'the cat sat on the mat',
      'quantum chromodynamics lecture',
      '',
    ]);
    const dot = (x: number[] = [], y: number[] = []) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
    expect(a).toHaveLength(64);
    expect(dot(a, a)).toBeCloseTo(1);
    expect(dot(empty, empty)).toBeCloseTo(1);
    expect(a).toEqual(b);
    const [related] = await embed(['a cat on a mat']);
    expect(dot(a, related)).toBeGreaterThan(dot(a, c));
  });
});

describe('zero config: the router over the mock alone', () => {
  const router = createRouter({ providers: [createMockProvider({ tokenDelayMs: 0 })] });

  it('answers a request that names no model', async () => {
    const parts = await collect(router.stream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(parts[0]).toMatchObject({ type: 'start', provider: 'mock', model: 'mock-echo', attempt: 1 });
    expect(textOf(parts)).toBe('Mock reply to: hi');
  });

  it('lists the mock models and embeds through it', async () => {
    expect(await router.listModels()).toEqual([{ id: 'mock-echo', provider: 'mock', contextWindow: 8192 }]);
    await expect(router.listModels('openai')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const result = await router.embed({ model: 'mock', input: ['a', 'b'], dimensions: 8 });
    expect(result).toMatchObject({ provider: 'mock', model: 'mock-echo' });
    expect(result.embeddings).toHaveLength(2);
  });

  it('refuses to embed with a provider that cannot', async () => {
    const noEmbed = createRouter({ providers: [createScriptedProvider('anthropic', [[]], 'anthropic')] });
    await expect(noEmbed.embed({ model: 'claude-haiku-4-5', input: ['x'] })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});
