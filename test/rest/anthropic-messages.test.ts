/**
 * Anthropic's Messages API on the gateway, through the official `@anthropic-ai/sdk` against a real
 * server whose upstreams are the OpenAI, Anthropic and Ollama fakes: text streamed and not, usage
 * (in the reply and as a usage event of the caller's key), tool calls round trip, an image, and
 * each failure as the SDK's typed error.
 */
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { LIMITS_BACKENDS, type LimitsCluster, type Member, startLimitsCluster } from '../helpers/limits-cluster.js';

/** A 1x1 transparent PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`Anthropic Messages API: ${backend.name}`, () => {
    let openai: FakeServer;
    let anthropic: FakeServer;
    let ollama: FakeServer;
    let cluster: LimitsCluster;
    let member: Member;

    beforeAll(async () => {
      [openai, anthropic, ollama] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
      cluster = await startLimitsCluster(backend, {
        env: fakeProviderEnv({ openai, anthropic, ollama }),
        // fast retries; no open circuit to carry one test's failures into the next
        config: { resilience: { retry: { initialDelayMs: 1, maxDelayMs: 5 }, breaker: { failureThreshold: 1_000 } } },
      });
      member = await cluster.member('anthropic-rest');
    });
    afterAll(async () => {
      await cluster?.close();
      await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
    });
    afterEach(() => {
      for (const fake of [openai, anthropic, ollama]) {
        fake.faults.clear();
        fake.setReply(undefined);
      }
    });

    /** Requests alternate between the instances (on two, a tool round trip's turns land on different ones). */
    let turn = 0;
    const client = (apiKey: string, options: { maxRetries?: number; instance?: number } = {}) =>
      new Anthropic({
        apiKey,
        baseURL: cluster.pick(options.instance ?? turn++).origin,
        maxRetries: options.maxRetries ?? 0,
      });

    const UPSTREAMS = [
      { name: 'OpenAI', model: 'gpt-4o-mini', fake: () => openai, path: '/v1/chat/completions', provider: 'openai' },
      {
        name: 'Anthropic',
        model: 'claude-haiku-4-5',
        fake: () => anthropic,
        path: '/v1/messages',
        provider: 'anthropic',
      },
      { name: 'Ollama', model: 'llama3.2', fake: () => ollama, path: '/api/chat', provider: 'ollama' },
    ];

    const usageEvents = (apiKeyId: string) =>
      cluster.db.usageEvent.findMany({ where: { apiKeyId }, orderBy: { createdAt: 'asc' } });

    describe.each(UPSTREAMS)('the Anthropic client on an $name model', ({ model, fake, path, provider }) => {
      it('gets a message with text, stop reason and the provider-reported usage, charged to its key', async () => {
        const caller = await cluster.member(`text-${provider}`);
        fake().setReply('Hello there, friend');
        const message = await client(caller.secret).messages.create({
          model,
          max_tokens: 50,
          system: 'Be brief.',
          messages: [{ role: 'user', content: 'Say hello' }],
        });
        expect(message).toMatchObject({
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: 'Hello there, friend' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          // the fakes count words: "Be brief." and "Say hello" are 4, the reply 3
          usage: { input_tokens: 4, output_tokens: 3 },
        });
        expect(message.id).toMatch(/^msg_/);
        expect(JSON.stringify(fake().lastRequest(path)?.body)).toContain('Be brief.');
        const events = await eventually(
          () => usageEvents(caller.keyId),
          (rows) => rows.length === 1,
        );
        expect(events[0]).toMatchObject({ provider, model, promptTokens: 4, completionTokens: 3, status: 'COMPLETE' });
      });

      it('streams Anthropic events whose text and usage the SDK assembles', async () => {
        fake().setReply('one two three four');
        const stream = client(member.secret).messages.stream({
          model,
          max_tokens: 50,
          messages: [{ role: 'user', content: [{ type: 'text', text: 'Count to four' }] }],
        });
        const types: string[] = [];
        let text = '';
        for await (const event of stream) {
          types.push(event.type);
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        }
        const final = await stream.finalMessage();
        expect(text).toBe('one two three four');
        expect(types[0]).toBe('message_start');
        expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
        expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThanOrEqual(1);
        expect(final).toMatchObject({
          content: [{ type: 'text', text: 'one two three four' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 3, output_tokens: 4 },
        });
      });

      it('is told max_tokens when the reply was cut at max_tokens', async () => {
        fake().setReply('a b c d e f g h');
        const message = await client(member.secret).messages.create({
          model,
          max_tokens: 3,
          messages: [{ role: 'user', content: 'letters' }],
        });
        expect(message).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'text', text: 'a b c' }] });
      });
    });

    describe.each(UPSTREAMS.slice(0, 2))('tool calls on an $name model', ({ model, fake, path }) => {
      const tools: Anthropic.Tool[] = [
        {
          name: 'get_weather',
          description: 'The weather in a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ];

      it('round trip: tool_use with parsed input, then the tool_result reaches the model as the call it answers', async () => {
        // The tool_use on one instance, its tool_result on the other (when there are two).
        fake().setReply({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
        const asked = await client(member.secret, { instance: 0 }).messages.create({
          model,
          max_tokens: 100,
          tools,
          tool_choice: { type: 'any' },
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
        });
        expect(asked.stop_reason).toBe('tool_use');
        const call = asked.content.find((b) => b.type === 'tool_use');
        expect(call).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
        expect(JSON.stringify(fake().lastRequest(path)?.body)).toContain('get_weather');

        fake().setReply('It is sunny in Paris');
        const answered = await client(member.secret, { instance: 1 }).messages.create({
          model,
          max_tokens: 100,
          tools,
          messages: [
            { role: 'user', content: 'Weather in Paris?' },
            { role: 'assistant', content: asked.content },
            {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: (call as Anthropic.ToolUseBlock).id, content: 'sunny, 24 C' },
              ],
            },
          ],
        });
        expect(answered).toMatchObject({
          stop_reason: 'end_turn',
          content: [{ type: 'text', text: 'It is sunny in Paris' }],
        });
        const sent = JSON.stringify(fake().lastRequest(path)?.body);
        expect(sent).toContain((call as Anthropic.ToolUseBlock).id);
        expect(sent).toContain('sunny, 24 C');
      });

      it('streams a tool call as a tool_use block with input_json_delta', async () => {
        fake().setReply({ text: 'Let me check.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
        const stream = client(member.secret).messages.stream({
          model,
          max_tokens: 100,
          tools,
          messages: [{ role: 'user', content: 'Weather in Oslo?' }],
        });
        const deltas: string[] = [];
        stream.on('streamEvent', (event) => {
          if (event.type === 'content_block_delta') deltas.push(event.delta.type);
        });
        const final = await stream.finalMessage();
        expect(deltas).toContain('input_json_delta');
        expect(final.stop_reason).toBe('tool_use');
        expect(final.content).toMatchObject([
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } },
        ]);
      });
    });

    describe('across the instances', () => {
      it('streams on every instance, each call one COMPLETE usage event of the caller’s key', async () => {
        const caller = await cluster.member('streams-everywhere');
        const instances = cluster.servers.length;
        for (let instance = 0; instance < instances; instance++) {
          openai.setReply(`streamed on ${instance}`);
          const stream = client(caller.secret, { instance }).messages.stream({
            model: 'gpt-4o-mini',
            max_tokens: 20,
            messages: [{ role: 'user', content: 'stream please' }],
          });
          let text = '';
          stream.on('text', (delta) => {
            text += delta;
          });
          const final = await stream.finalMessage();
          expect(text).toBe(`streamed on ${instance}`);
          expect(final.stop_reason).toBe('end_turn');
        }
        const events = await eventually(
          () => usageEvents(caller.keyId),
          (rows) => rows.length === instances,
          { what: `${instances} usage events` },
        );
        expect(
          events.every((e) => e.status === 'COMPLETE' && e.provider === 'openai' && e.completionTokens === 3),
        ).toBe(true);
      });

      it('admits exactly requestsPerMinute calls of one key sent at once to every instance, the rest 429', async () => {
        const limit = 3;
        const limited = await cluster.member('three-a-minute', { requestsPerMinute: limit });
        const results = await Promise.allSettled(
          Array.from({ length: 4 * limit }, (_, i) =>
            client(limited.secret, { instance: i }).messages.create({
              model: 'gpt-4o-mini',
              max_tokens: 20,
              stream: i % 2 === 0,
              messages: [{ role: 'user', content: `call ${i}` }],
            }),
          ),
        );
        const admitted = results.filter((r) => r.status === 'fulfilled');
        const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        expect(admitted).toHaveLength(limit);
        expect(refused).toHaveLength(3 * limit);
        for (const error of refused) expect(error).toBeInstanceOf(Anthropic.RateLimitError);
        // Streams are consumed to their end before their usage is written; the non-streamed are already whole.
        for (const result of admitted) {
          const value = (result as PromiseFulfilledResult<unknown>).value;
          if (value && typeof value === 'object' && Symbol.asyncIterator in value) {
            for await (const _ of value as AsyncIterable<unknown>);
          }
        }
        await eventually(
          () => usageEvents(limited.keyId),
          (rows) => rows.length === limit,
          { what: `${limit} usage events` },
        );
      });
    });

    describe('images and bounds', () => {
      it('passes a base64 image block to an OpenAI model as a data URL', async () => {
        openai.setReply('A tiny image');
        const message = await client(member.secret).messages.create({
          model: 'gpt-4o-mini',
          max_tokens: 20,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
                { type: 'text', text: 'What is this?' },
              ],
            },
          ],
        });
        expect(message.content).toEqual([{ type: 'text', text: 'A tiny image' }]);
        expect(JSON.stringify(openai.lastRequest('/v1/chat/completions')?.body)).toContain(
          `data:image/png;base64,${PNG}`,
        );
      });

      it('refuses what is over a bound or malformed as invalid_request_error (BadRequestError), before any upstream call', async () => {
        const before = openai.requests.length;
        const anthropicClient = client(member.secret);
        const bad = [
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no max_tokens' }] },
          { model: 'gpt-4o-mini', max_tokens: 10, messages: [] },
          {
            model: 'gpt-4o-mini',
            max_tokens: 10,
            stop_sequences: ['a', 'b', 'c', 'd', 'e'],
            messages: [{ role: 'user', content: 'x' }],
          },
          {
            model: 'gpt-4o-mini',
            max_tokens: 10,
            messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'y' }] }],
          },
          {
            model: 'gpt-4o-mini',
            max_tokens: 10,
            messages: [
              {
                role: 'user',
                content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'not base64!' } }],
              },
            ],
          },
        ];
        for (const body of bad) {
          const error = await anthropicClient.messages.create(body as never).catch((e: unknown) => e);
          expect(error, JSON.stringify(body)).toBeInstanceOf(Anthropic.BadRequestError);
          expect((error as APIError).error).toMatchObject({
            type: 'error',
            error: { type: 'invalid_request_error' },
          });
        }
        expect(openai.requests.length).toBe(before);
      });

      it('counts a request’s input tokens', async () => {
        const count = (content: string) =>
          client(member.secret).messages.countTokens({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
        const short = await count('hello');
        const long = await count('hello '.repeat(100));
        expect(short.input_tokens).toBeGreaterThan(0);
        expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 50);
      });
    });

    describe('typed errors', () => {
      const ask = (anthropicClient: Anthropic, stream = false) =>
        anthropicClient.messages.create({
          model: 'gpt-4o-mini',
          max_tokens: 20,
          stream,
          messages: [{ role: 'user', content: 'hi' }],
        });

      it('401 authentication_error for a key that is not valid, by x-api-key and by Bearer', async () => {
        const error = await ask(client('sk-sy-not-a-real-key-0000000000000000')).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
        expect((error as APIError).error).toMatchObject({ error: { type: 'authentication_error' } });
        expect((error as APIError).headers?.get('www-authenticate')).toBe('Bearer realm="switchyard"');
        const bearer = new Anthropic({
          authToken: 'sk-sy-not-a-real-key-0000000000000000',
          baseURL: cluster.pick(0).origin,
          maxRetries: 0,
        });
        await expect(ask(bearer)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
        // and the right key as a Bearer token works
        const ok = new Anthropic({ authToken: member.secret, baseURL: cluster.pick(0).origin, maxRetries: 0 });
        await expect(ask(ok)).resolves.toMatchObject({ type: 'message' });
      });

      it('403 permission_error for a key without the CHAT scope', async () => {
        const reader = await keyCaller(cluster.db, 'no-chat', { scopes: ['DOCUMENTS'] });
        await expect(ask(client(reader.secret))).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
      });

      it('429 rate_limit_error with retry-after for a key with requestsPerMinute: 1, streamed or not', async () => {
        const limited = await cluster.member('one-a-minute', { requestsPerMinute: 1 });
        await expect(ask(client(limited.secret))).resolves.toMatchObject({ type: 'message' });
        for (const stream of [false, true]) {
          const error = await ask(client(limited.secret), stream).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Anthropic.RateLimitError);
          const seconds = Number((error as APIError).headers?.get('retry-after'));
          expect(seconds).toBeGreaterThan(0);
          expect(seconds).toBeLessThanOrEqual(60);
        }
      });

      it('an upstream 503 after the router’s retries is a 503 (ServiceUnavailableError), streamed or not', async () => {
        for (const stream of [false, true]) {
          const before = openai.requests.length;
          openai.faults.always({ path: '/v1/chat/completions', status: 503 });
          const error = await ask(client(member.secret), stream).catch((e: unknown) => e);
          openai.faults.clear();
          expect(error).toBeInstanceOf(Anthropic.InternalServerError);
          expect((error as APIError).status).toBe(503);
          expect((error as APIError).error).toMatchObject({ error: { type: 'overloaded_error' } });
          // the first try and the two retries
          expect(openai.requests.length - before).toBe(3);
        }
      });

      it('a failure after the stream started is an error event, which the SDK raises', async () => {
        openai.setReply('w1 w2 w3 w4 w5 w6 w7 w8');
        openai.faults.next({ path: '/v1/chat/completions', cutAfterChunks: 4 });
        const stream = client(member.secret).messages.stream({
          model: 'gpt-4o-mini',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'go' }],
        });
        let text = '';
        stream.on('text', (delta) => {
          text += delta;
        });
        const error = await stream.finalMessage().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.APIError);
        expect((error as APIError).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
        expect(text.length).toBeGreaterThan(0);
        expect(text).not.toBe('w1 w2 w3 w4 w5 w6 w7 w8');
      });

      it('an unknown path under /v1/messages is a 404 not_found_error', async () => {
        await expect(client(member.secret).messages.batches.list()).rejects.toBeInstanceOf(Anthropic.NotFoundError);
      });
    });
  });
}
