import { describe, expect, it } from 'vitest';
import { collectStream } from '../../src/providers/collect-stream.js';
import { inferProviderKind, knownContextWindow } from '../../src/providers/definitions.js';
import { ProviderError } from '../../src/providers/provider-error.js';
import { parseRetryAfter } from '../../src/providers/retry-after.js';
import { toProviderError } from '../../src/providers/sdk-error.js';
import type { StreamPart } from '../../src/providers/types.js';

async function* parts(...items: StreamPart[]): AsyncGenerator<StreamPart> {
  yield* items;
}

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const parse = (headers: Record<string, string>) => parseRetryAfter(new Headers(headers), now);

  it('reads seconds, HTTP dates and retry-after-ms, preferring the latter', () => {
    expect(parse({ 'retry-after': '3' })).toBe(3000);
    expect(parse({ 'retry-after': '0.5' })).toBe(500);
    expect(parse({ 'retry-after': 'Wed, 01 Jan 2025 00:00:04 GMT' })).toBe(4000);
    expect(parse({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' })).toBe(0);
    expect(parse({ 'retry-after': '3', 'retry-after-ms': '1234.5' })).toBe(1235);
  });

  it('ignores what it cannot read', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parse({ 'retry-after': '-1' })).toBeUndefined();
    expect(parse({ 'retry-after-ms': 'x', 'retry-after': '1' })).toBe(1000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('collectStream', () => {
  it('joins the text and returns the finish', async () => {
    const finish = { unified: 'stop', raw: 'stop' } as const;
    const usage = { promptTokens: 1, completionTokens: 2 };
    expect(
      await collectStream(
        parts(
          { type: 'text-delta', text: 'a' },
          { type: 'text-delta', text: 'b' },
          { type: 'finish', usage, finishReason: finish },
        ),
      ),
    ).toEqual({ text: 'ab', toolCalls: [], usage, finishReason: finish });
  });

  it('assembles tool calls from their start, argument pieces and end, in the order they started', async () => {
    const finish = { unified: 'tool-calls', raw: 'tool_calls' } as const;
    const usage = { promptTokens: 1, completionTokens: 2 };
    const collected = await collectStream(
      parts(
        { type: 'tool-call-start', id: 'a', name: 'weather' },
        { type: 'tool-call-start', id: 'b', name: 'time' },
        { type: 'tool-call-delta', id: 'a', argumentsDelta: '{"city":' },
        { type: 'tool-call-delta', id: 'b', argumentsDelta: '{}' },
        { type: 'tool-call-delta', id: 'a', argumentsDelta: '"Oslo"}' },
        { type: 'tool-call-end', id: 'a' },
        { type: 'tool-call-end', id: 'b' },
        { type: 'finish', usage, finishReason: finish },
      ),
    );
    expect(collected.toolCalls).toEqual([
      { id: 'a', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: 'b', name: 'time', arguments: '{}' },
    ]);
  });

  it('throws the ProviderError of an error part, and fails a stream with no terminal part', async () => {
    const error = new ProviderError({ provider: 'p', code: 'UPSTREAM_ERROR', message: 'boom' });
    await expect(collectStream(parts({ type: 'text-delta', text: 'a' }, { type: 'error', error }))).rejects.toBe(error);
    await expect(collectStream(parts({ type: 'text-delta', text: 'a' }))).rejects.toThrow(/without a finish/);
  });
});

describe('toProviderError', () => {
  it('maps by status, phase and signal', () => {
    const withStatus = Object.assign(new Error('conflict'), {
      status: 409,
      headers: new Headers({ 'retry-after': '1' }),
    });
    expect(toProviderError(withStatus, { provider: 'p', phase: 'request' })).toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      status: 409,
      retryable: true,
      retryAfterMs: 1000,
      message: 'p: conflict',
    });
    const ollama = Object.assign(new Error('bad'), { status_code: 422 });
    expect(toProviderError(ollama, { provider: 'p', phase: 'request' })).toMatchObject({
      code: 'UPSTREAM_ERROR',
      status: 422,
      retryable: false,
    });
    expect(toProviderError(new TypeError('x'), { provider: 'p', phase: 'stream' })).toMatchObject({
      code: 'UPSTREAM_ERROR',
      retryable: true,
    });
    const aborted = AbortSignal.abort();
    expect(toProviderError(withStatus, { provider: 'p', phase: 'request', signal: aborted })).toMatchObject({
      code: 'CANCELLED',
      retryable: false,
    });
  });

  it('returns a ProviderError unchanged', () => {
    const error = new ProviderError({ provider: 'p', code: 'CANCELLED', message: 'm' });
    expect(toProviderError(error, { provider: 'q', phase: 'stream' })).toBe(error);
  });
});

describe('knownContextWindow', () => {
  it("matches the longest prefix of the kind's table", () => {
    expect(knownContextWindow('openai', 'gpt-4o-mini-2024')).toBe(128_000);
    expect(knownContextWindow('openai', 'gpt-4-0613')).toBe(8_192);
    expect(knownContextWindow('openai', 'o1-mini')).toBe(128_000);
    expect(knownContextWindow('anthropic', 'claude-haiku-4-5')).toBe(200_000);
    expect(knownContextWindow('xai', 'grok-3-mini')).toBe(131_072);
    expect(knownContextWindow('ollama', 'llama3')).toBeUndefined();
  });
});

describe('inferProviderKind', () => {
  it('gives a bare id to the kind owning its prefix, the rest to Ollama', () => {
    const kinds = ['gpt-4o', 'O3-mini', 'text-embedding-3-small', 'claude-sonnet-4-6', 'mock', 'mock-echo', 'grok-4'];
    expect(kinds.map(inferProviderKind)).toEqual(['openai', 'openai', 'openai', 'anthropic', 'mock', 'mock', 'xai']);
    expect(inferProviderKind('llama3.2')).toBe('ollama');
    expect(inferProviderKind('mockingbird')).toBe('ollama');
  });
});
