import { describe, expect, it } from 'vitest';
import { collectStream } from '../../src/providers/collect-stream.js';
import { createMockProvider } from '../../src/providers/mock/mock-provider.js';
import type { StreamPart } from '../../src/providers/types.js';

describe('mock adapter: usage', () => {
  it('a cancelled reply reports the prompt and the tokens it sent so far', async () => {
    const provider = createMockProvider({ tokenDelayMs: 1 });
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    const messages = [{ role: 'user' as const, content: 'one two three four five six seven' }];
    for await (const part of provider.stream({ model: 'mock-echo', messages, signal: controller.signal })) {
      parts.push(part);
      if (parts.length === 2) controller.abort();
    }
    const full = await collect(provider.stream({ model: 'mock-echo', messages }));
    const finish = full.at(-1);
    if (finish?.type !== 'finish') throw new Error('expected a finish part');
    expect(parts.map((p) => p.type)).toEqual(['text-delta', 'text-delta', 'error']);
    expect(parts.at(-1)).toMatchObject({
      type: 'error',
      error: { code: 'CANCELLED' },
      usage: { promptTokens: finish.usage.promptTokens, completionTokens: 2 },
    });
  });
});

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('mock adapter: tools, JSON, images and stop', () => {
  const provider = createMockProvider({ tokenDelayMs: 0 });
  const user = { role: 'user' as const, content: 'Paris please' };
  const tool = (name: string, parameters: Record<string, unknown>) => ({ name, parameters });
  const schema = {
    type: 'object',
    properties: {
      city: { type: 'string' },
      days: { type: 'integer' },
      metric: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } },
      unit: { enum: ['c', 'f'] },
      where: { type: 'object', properties: { lat: { type: 'number' }, note: { type: 'string' } }, required: ['lat'] },
      optional: { type: 'string' },
    },
    required: ['city', 'days', 'metric', 'tags', 'unit', 'where'],
  };
  const minimal = '{"city":"Paris please","days":1,"metric":true,"tags":[],"unit":"c","where":{"lat":1}}';

  it('calls the first tool with the minimal instance of its parameters, in 2-3 deltas', async () => {
    const parts = await collect(
      provider.stream({ model: 'mock-echo', messages: [user], tools: [tool('a', schema), tool('b', {})] }),
    );
    const id = 'call_mock_1';
    expect(parts[0]).toEqual({ type: 'tool-call-start', id, name: 'a' });
    const deltas = parts.filter((p) => p.type === 'tool-call-delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.length).toBeLessThanOrEqual(3);
    expect(deltas.map((d) => (d.type === 'tool-call-delta' ? d.argumentsDelta : '')).join('')).toBe(minimal);
    expect(parts.at(-2)).toEqual({ type: 'tool-call-end', id });
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'tool-calls' } });
  });

  it('calls the named tool; with toolChoice none it answers in text', async () => {
    const tools = [tool('a', schema), tool('b', {})];
    const named = await collectStream(
      provider.stream({ model: 'm', messages: [user], tools, toolChoice: { name: 'b' } }),
    );
    expect(named.toolCalls).toEqual([{ id: 'call_mock_1', name: 'b', arguments: '{}' }]);
    const none = await collectStream(provider.stream({ model: 'm', messages: [user], tools, toolChoice: 'none' }));
    expect(none).toMatchObject({ text: 'Mock reply to: Paris please', toolCalls: [] });
  });

  it('answers tool results with their contents', async () => {
    const messages = [
      user,
      {
        role: 'assistant' as const,
        content: '',
        toolCalls: [
          { id: 'x', name: 'a', arguments: '{}' },
          { id: 'y', name: 'a', arguments: '{}' },
        ],
      },
      { role: 'tool' as const, content: 'sunny', toolCallId: 'x' },
      { role: 'tool' as const, content: 'warm', toolCallId: 'y' },
    ];
    const reply = await collectStream(provider.stream({ model: 'm', messages, tools: [tool('a', {})] }));
    expect(reply).toMatchObject({ text: 'tool results: sunny; warm', finishReason: { unified: 'stop' } });
  });

  it('answers a JSON schema with its minimal instance and a JSON object with an echo', async () => {
    const parts = await collect(
      provider.stream({ model: 'm', messages: [user], responseFormat: { type: 'json-schema', name: 's', schema } }),
    );
    expect(parts.filter((p) => p.type === 'text-delta').length).toBeGreaterThan(1);
    expect(parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe(minimal);
    const object = await collectStream(
      provider.stream({ model: 'm', messages: [user], responseFormat: { type: 'json-object' } }),
    );
    expect(JSON.parse(object.text)).toEqual({ echo: 'Paris please' });
  });

  it('counts images and cuts before a stop sequence', async () => {
    const images = [{ url: 'data:image/png;base64,AA==' }, { url: 'https://example.com/a.png' }];
    const seen = await collectStream(provider.stream({ model: 'm', messages: [{ ...user, images }] }));
    expect(seen.text).toBe('echo: Paris please [2 images]');
    const stopped = await collectStream(provider.stream({ model: 'm', messages: [user], stop: [' please', ' to'] }));
    expect(stopped).toMatchObject({ text: 'Mock reply', finishReason: { unified: 'stop' } });
  });
});
