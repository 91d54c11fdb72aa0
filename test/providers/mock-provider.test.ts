import { describe, expect, it } from 'vitest';
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
