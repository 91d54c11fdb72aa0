import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectStream } from '../../src/providers/collect-stream.js';
import { ProviderError } from '../../src/providers/provider-error.js';
import type { ChatProvider, ChatRequest, ModelInfo, StreamPart } from '../../src/providers/types.js';
import { type FakeOptions, type FakeServer, fakeEmbedding } from '../fakes/index.js';

/** What the shared suite needs to know about one adapter and its fake. */
export interface ProviderHarness {
  kind: ChatProvider['kind'];
  startFake(options?: FakeOptions): Promise<FakeServer>;
  createProvider(fake: FakeServer, options?: { modelsRefreshMs?: number }): ChatProvider;
  model: string;
  chatPath: string;
  /** Raw finish reasons the fake sends for a full and for a truncated reply. */
  rawStop: string;
  rawLength: string;
  /** Chunks the fake writes up to and including the first text token. */
  chunksToFirstToken: number;
  /** `listModels()` against the fake's default models. */
  expectedModels: (name: string) => ModelInfo[];
  embedModel?: string;
}

export async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The last part, which the contract says is the only terminal one. */
export function terminal(parts: StreamPart[]): StreamPart | undefined {
  expect(parts.filter((p) => p.type !== 'text-delta')).toHaveLength(1);
  return parts.at(-1);
}

export function errorOf(parts: StreamPart[]): ProviderError {
  const last = terminal(parts);
  if (last?.type !== 'error') throw new Error(`expected an error part, got ${JSON.stringify(last)}`);
  expect(ProviderError.isInstance(last.error)).toBe(true);
  return last.error;
}

const texts = (parts: StreamPart[]) => parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []));

/** Behaviour every adapter shares, run against its own wire-faithful fake. */
export function describeChatProvider(h: ProviderHarness): void {
  describe(`${h.kind} adapter: shared behaviour`, () => {
    let fake: FakeServer;
    let provider: ChatProvider;
    const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
      model: h.model,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
      ...extra,
    });

    beforeEach(async () => {
      fake = await h.startFake();
      provider = h.createProvider(fake);
    });
    afterEach(() => fake.close());

    it('streams text deltas, then one finish part with usage', async () => {
      const parts = await drain(provider.stream(request()));
      expect(parts).toEqual([
        { type: 'text-delta', text: 'echo:' },
        { type: 'text-delta', text: ' hello' },
        { type: 'text-delta', text: ' there' },
        {
          type: 'finish',
          usage: { promptTokens: 4, completionTokens: 3 },
          finishReason: { unified: 'stop', raw: h.rawStop },
        },
      ]);
      expect(provider).toMatchObject({ kind: h.kind, name: h.kind });
    });

    it('collects a non-streaming reply, truncated by maxTokens', async () => {
      expect(await collectStream(provider.stream(request({ maxTokens: 2 })))).toEqual({
        text: 'echo: hello',
        toolCalls: [],
        usage: { promptTokens: 4, completionTokens: 2 },
        finishReason: { unified: 'length', raw: h.rawLength },
      });
    });

    it('turns an abort mid-stream into CANCELLED and aborts the upstream request', async () => {
      fake.faults.next({ stallAfterChunks: h.chunksToFirstToken });
      const controller = new AbortController();
      const parts: StreamPart[] = [];
      for await (const part of provider.stream(request({ signal: controller.signal }))) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }
      expect(texts(parts)).toEqual(['echo:']);
      expect(errorOf(parts)).toMatchObject({ code: 'CANCELLED', retryable: false, provider: h.kind });
      const upstream = fake.lastRequest(h.chatPath);
      if (!upstream) throw new Error('the fake saw no chat request');
      expect(await fake.settled(upstream)).toBe('aborted');
    });

    it('aborts the upstream request when the consumer stops reading', async () => {
      fake.faults.next({ stallAfterChunks: h.chunksToFirstToken });
      for await (const part of provider.stream(request())) if (part.type === 'text-delta') break;
      const upstream = fake.lastRequest(h.chatPath);
      if (!upstream) throw new Error('the fake saw no chat request');
      expect(await fake.settled(upstream)).toBe('aborted');
    });

    it('maps 429 and 5xx to retryable PROVIDER_UNAVAILABLE with Retry-After, without SDK retries', async () => {
      fake.faults.next({ status: 429, retryAfter: 2 });
      const limited = errorOf(await drain(provider.stream(request())));
      expect(limited).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: 429, retryable: true, retryAfterMs: 2000 });
      fake.faults.next({ status: 503 });
      const down = errorOf(await drain(provider.stream(request())));
      expect(down).toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
        status: 503,
        retryable: true,
        retryAfterMs: undefined,
      });
      expect(fake.requests).toHaveLength(2);
    });

    it.each([400, 401, 403, 404])('maps %i to UPSTREAM_ERROR, not retryable', async (status) => {
      fake.faults.next({ status, message: 'nope' });
      const error = errorOf(await drain(provider.stream(request())));
      expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', status, retryable: false });
      expect(error.message).toContain('nope');
    });

    it('maps a stream cut after the first token to UPSTREAM_ERROR, after that token', async () => {
      fake.faults.next({ cutAfterChunks: h.chunksToFirstToken });
      const parts = await drain(provider.stream(request()));
      expect(texts(parts)).toEqual(['echo:']);
      expect(errorOf(parts)).toMatchObject({ code: 'UPSTREAM_ERROR', status: undefined, retryable: true });
    });

    it('maps a malformed chunk to UPSTREAM_ERROR', async () => {
      fake.faults.next({ malformedAfterChunks: h.chunksToFirstToken });
      const parts = await drain(provider.stream(request()));
      expect(texts(parts)).toEqual(['echo:']);
      expect(errorOf(parts)).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    });

    it('maps a reset connection to retryable PROVIDER_UNAVAILABLE', async () => {
      fake.faults.next({ reset: true });
      const error = errorOf(await drain(provider.stream(request())));
      expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: undefined, retryable: true });
    });

    it('fails the probe and the stream while the provider is down, and recovers when it is back', async () => {
      await expect(provider.probe(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
      await fake.stop();
      const failure = await provider.probe(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
      expect(ProviderError.isInstance(failure)).toBe(true);
      expect(failure).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
      expect(errorOf(await drain(provider.stream(request())))).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      await fake.start();
      await expect(provider.probe(AbortSignal.timeout(10_000))).resolves.toBeUndefined();
    });

    it('rejects an aborted probe with CANCELLED', async () => {
      fake.faults.next({ firstTokenDelayMs: 10_000 });
      const controller = new AbortController();
      const probing = provider.probe(controller.signal);
      controller.abort();
      await expect(probing).rejects.toMatchObject({ code: 'CANCELLED', retryable: false });
    });

    it('lists models once per refresh period and serves the last list when a refresh fails', async () => {
      const first = await provider.listModels();
      expect(first).toEqual(h.expectedModels(h.kind));
      const count = fake.requests.length;
      expect(await provider.listModels()).toEqual(first);
      expect(fake.requests).toHaveLength(count);

      const eager = h.createProvider(fake, { modelsRefreshMs: 0 });
      await eager.listModels();
      fake.faults.always({ status: 500 });
      expect(await eager.listModels()).toEqual(first);
      const cold = h.createProvider(fake, { modelsRefreshMs: 0 });
      await expect(cold.listModels()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: 500 });
    });

    if (h.embedModel) {
      const embedModel = h.embedModel;
      it('embeds deterministically with the requested dimensions', async () => {
        const embed = provider.embed?.bind(provider);
        if (!embed) throw new Error('expected embed()');
        const vectors = await embed({ model: embedModel, input: ['alpha', 'beta'], dimensions: 8 });
        expect(vectors).toEqual([fakeEmbedding('alpha', 8), fakeEmbedding('beta', 8)]);
        expect(fake.lastRequest()?.body).toMatchObject({ model: embedModel, input: ['alpha', 'beta'], dimensions: 8 });
        fake.faults.next({ status: 503 });
        await expect(embed({ model: embedModel, input: ['x'] })).rejects.toMatchObject({
          code: 'PROVIDER_UNAVAILABLE',
        });
      });
    } else {
      it('has no embed()', () => expect(provider.embed).toBeUndefined());
    }
  });
}
