import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectStream } from '../../src/providers/collect-stream.js';
import { ProviderError } from '../../src/providers/provider-error.js';
import type { ChatProvider, ChatRequest, ModelInfo, StreamPart } from '../../src/providers/types.js';
import { countTokens, type FakeOptions, type FakeReply, type FakeServer, fakeEmbedding } from '../fakes/index.js';

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
  /** Raw finish reason when a stop sequence ended the reply. */
  rawStopSequence: string;
  /** How the fake must answer so the adapter yields `json` as a JSON reply (Anthropic: the forced tool). */
  jsonReply: (json: string) => FakeReply;
  /** False where remote image URLs are refused before any request (Ollama). */
  remoteImages: boolean;
  /** Asserts on the wire bodies the fake received, per provider. */
  wire: {
    toolCall(body: Record<string, unknown>): void;
    toolResult(body: Record<string, unknown>, callId: string): void;
    jsonSchema(body: Record<string, unknown>): void;
    image(body: Record<string, unknown>): void;
    stop(body: Record<string, unknown>): void;
  };
}

export async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The last part, which the contract says is the only terminal one. */
export function terminal(parts: StreamPart[]): StreamPart | undefined {
  expect(parts.filter((p) => p.type === 'finish' || p.type === 'error')).toHaveLength(1);
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
        const { embeddings, usage } = await embed({ model: embedModel, input: ['alpha', 'beta'], dimensions: 8 });
        expect(embeddings).toEqual([fakeEmbedding('alpha', 8), fakeEmbedding('beta', 8)]);
        // the tokens the fake reported (its count of the input), not the gateway's own
        expect(usage).toEqual({ promptTokens: countTokens('alpha') + countTokens('beta') });
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

export const weatherTool = {
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
export const citySchema = weatherTool.parameters;
/** A 1x1 PNG. */
export const pngDataUrl =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Tools, tool results, JSON output, images and stop, each through the adapter and its fake. */
export function describeChatProviderFeatures(h: ProviderHarness): void {
  describe(`${h.kind} adapter: tools, JSON, images, stop`, () => {
    let fake: FakeServer;
    let provider: ChatProvider;
    const body = () => fake.lastRequest(h.chatPath)?.body as Record<string, unknown>;
    beforeEach(async () => {
      fake = await h.startFake();
      provider = h.createProvider(fake);
    });
    afterEach(() => fake.close());

    it('round-trips a tool call: the call out as parts, the result back in', async () => {
      fake.setReply((input) =>
        input.messages.at(-1)?.role === 'tool'
          ? `weather: ${input.messages.at(-1)?.content}`
          : { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      );
      const user = { role: 'user' as const, content: 'weather in Paris?' };
      const parts = await drain(provider.stream({ model: h.model, messages: [user], tools: [weatherTool] }));
      const start = parts.find((p) => p.type === 'tool-call-start');
      if (start?.type !== 'tool-call-start') throw new Error('expected a tool-call-start part');
      expect(start.name).toBe('get_weather');
      expect(parts.filter((p) => p.type === 'tool-call-end')).toEqual([{ type: 'tool-call-end', id: start.id }]);
      const collected = await collectStream(
        (async function* () {
          yield* parts;
        })(),
      );
      expect(collected.toolCalls).toEqual([{ id: start.id, name: 'get_weather', arguments: '{"city":"Paris"}' }]);
      expect(collected.finishReason.unified).toBe('tool-calls');
      h.wire.toolCall(body());

      const answer = await collectStream(
        provider.stream({
          model: h.model,
          tools: [weatherTool],
          messages: [
            user,
            { role: 'assistant', content: '', toolCalls: collected.toolCalls },
            { role: 'tool', content: 'sunny', toolCallId: start.id },
          ],
        }),
      );
      expect(answer).toMatchObject({ text: 'weather: sunny', toolCalls: [], finishReason: { unified: 'stop' } });
      h.wire.toolResult(body(), start.id);
    });

    it('answers in JSON to a JSON schema response format', async () => {
      fake.setReply(h.jsonReply('{"city":"Paris"}'));
      const collected = await collectStream(
        provider.stream({
          model: h.model,
          messages: [{ role: 'user', content: 'a city' }],
          responseFormat: { type: 'json-schema', name: 'city', schema: citySchema, strict: true },
        }),
      );
      expect(collected).toMatchObject({ text: '{"city":"Paris"}', toolCalls: [], finishReason: { unified: 'stop' } });
      h.wire.jsonSchema(body());
    });

    it('sends an image given as a data URL', async () => {
      const image = { url: pngDataUrl, mediaType: 'image/png' };
      const collected = await collectStream(
        provider.stream({ model: h.model, messages: [{ role: 'user', content: 'what is it', images: [image] }] }),
      );
      expect(collected.text).toBe('echo: what is it');
      h.wire.image(body());
    });

    it(h.remoteImages ? 'sends an https image by URL' : 'refuses an https image without fetching it', async () => {
      const image = { url: 'https://example.com/cat.png' };
      const parts = await drain(
        provider.stream({ model: h.model, messages: [{ role: 'user', content: 'what is it', images: [image] }] }),
      );
      if (h.remoteImages) {
        expect(parts.at(-1)).toMatchObject({ type: 'finish' });
        expect(JSON.stringify(body())).toContain('https://example.com/cat.png');
      } else {
        expect(errorOf(parts)).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: false });
        expect(fake.requests).toHaveLength(0);
      }
    });

    it('ends the reply before a stop sequence', async () => {
      const collected = await collectStream(
        provider.stream({ model: h.model, messages: [{ role: 'user', content: 'hello there' }], stop: [' there'] }),
      );
      expect(collected).toMatchObject({
        text: 'echo: hello',
        finishReason: { unified: 'stop', raw: h.rawStopSequence },
      });
      h.wire.stop(body());
    });
  });
}
