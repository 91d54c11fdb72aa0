/**
 * OpenAI's REST API (`/v1/chat/completions`, `/v1/models`, `/v1/embeddings`) through the real server
 * with the official `openai` SDK, over the OpenAI, Anthropic and Ollama fakes: text streamed and
 * not, tool calls, JSON output, images, OpenAI's typed errors, limits and usage events, and a
 * client that goes away mid-stream.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeChatInput,
  type FakeServer,
  startAnthropicFake,
  startOllamaFake,
  startOpenAIFake,
} from '../fakes/index.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { LIMITS_BACKENDS, type LimitsCluster, startLimitsCluster } from '../helpers/limits-cluster.js';

const USAGE = `query($from: DateTime!, $to: DateTime!) {
  usage(from: $from, to: $to, groupBy: [API_KEY, MODEL]) { model apiKey { id } requests promptTokens completionTokens }
}`;
const keyGlobalId = (id: string) => Buffer.from(`ApiKey:${id}`).toString('base64url');
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`OpenAI REST API: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;
    let anthropic: FakeServer;
    let ollama: FakeServer;
    let client: OpenAI;
    let keyId: string;

    const sdk = (secret: string, i = 0) =>
      new OpenAI({ apiKey: secret, baseURL: `${cluster.pick(i).origin}/v1`, maxRetries: 0 });

    beforeAll(async () => {
      [openai, anthropic, ollama] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
      cluster = await startLimitsCluster(backend, {
        env: fakeProviderEnv({ openai, anthropic, ollama }),
        config: { resilience: { retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 } } },
      });
      const member = await cluster.member('rest');
      keyId = member.keyId;
      client = sdk(member.secret);
    });
    afterAll(async () => {
      await cluster?.close();
      await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
    });

    it('answers a chat completion in OpenAI’s shape, with the model that answered and its usage', async () => {
      openai.setReply(undefined);
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] })
        .withResponse();
      expect(data.id).toMatch(/^chatcmpl-/);
      expect(data.object).toBe('chat.completion');
      expect(data.model).toBe('gpt-4o-mini');
      expect(data.choices).toEqual([
        {
          index: 0,
          message: { role: 'assistant', content: 'echo: hello there', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ]);
      expect(data.usage?.completion_tokens).toBeGreaterThan(0);
      expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
      expect(response.headers.get('x-request-id')).toBeTruthy();
    });

    it('streams chunks like OpenAI: the role first, content deltas, the finish, the usage chunk, then [DONE]', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'one two three' },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-4o-mini')).toBe(true);
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
      expect(text).toBe('echo: one two three');
      expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
      const finish = chunks.at(-2);
      expect(finish?.choices[0]?.finish_reason).toBe('stop');
      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    });

    it('streams without a usage chunk unless include_usage is set', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'no usage' }],
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    });

    it('routes to Anthropic and Ollama models, `provider/model` too', async () => {
      for (const model of ['claude-haiku-4-5', 'anthropic/claude-sonnet-4-6', 'ollama/llama3.2']) {
        const reply = await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: 'route me' }],
        });
        expect(reply.choices[0]?.message.content).toBe('echo: route me');
        expect(reply.model).toBe(model.replace(/^\w+\//, ''));
      }
    });

    it('makes a tool call round trip, streamed and not', async () => {
      openai.setReply((input: FakeChatInput) =>
        input.messages.at(-1)?.role === 'tool'
          ? `It is ${input.messages.at(-1)?.content} in Paris`
          : { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      );
      try {
        const tools: OpenAI.ChatCompletionTool[] = [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          },
        ];
        const ask: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };
        const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [ask], tools });
        const choice = first.choices[0];
        expect(choice?.finish_reason).toBe('tool_calls');
        expect(choice?.message.content).toBeNull();
        const call = choice?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
        expect(openai.lastRequest('/v1/chat/completions')?.body).toMatchObject({
          tools: [{ type: 'function', function: { name: 'get_weather' } }],
        });

        // The same question streamed: the SDK's helper reassembles the deltas.
        const runner = client.chat.completions.stream({ model: 'gpt-4o', messages: [ask], tools });
        const streamed = await runner.finalChatCompletion();
        const streamedCall = streamed.choices[0]?.message
          .tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
        expect(streamedCall.id).toBeTruthy();
        expect(JSON.parse(streamedCall.function.arguments)).toEqual({ city: 'Paris' });

        const second = await client.chat.completions.create({
          model: 'gpt-4o',
          tools,
          messages: [
            ask,
            { role: 'assistant', content: null, tool_calls: [call] },
            { role: 'tool', tool_call_id: call.id, content: 'sunny' },
          ],
        });
        expect(second.choices[0]?.message.content).toBe('It is sunny in Paris');
        const sent = openai.lastRequest('/v1/chat/completions')?.body as { messages: Record<string, unknown>[] };
        expect(sent.messages.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: call.id }] });
        expect(sent.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: call.id, content: 'sunny' });
      } finally {
        openai.setReply(undefined);
      }
    });

    it('passes a JSON schema response format and an image upstream', async () => {
      openai.setReply('{"answer":42}');
      try {
        const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
        const reply = await client.chat.completions.create({
          model: 'gpt-4o',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is in this image?' },
                { type: 'image_url', image_url: { url: PNG } },
              ],
            },
          ],
          response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
          max_completion_tokens: 50,
        });
        expect(JSON.parse(reply.choices[0]?.message.content ?? '')).toEqual({ answer: 42 });
        const sent = openai.lastRequest('/v1/chat/completions')?.body as Record<string, unknown>;
        expect(sent.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'answer', schema } });
        expect(JSON.stringify(sent.messages)).toContain(PNG);
      } finally {
        openai.setReply(undefined);
      }
    });

    it('raises the SDK’s typed errors: 401, 400 (n > 1, too many stops)', async () => {
      await expect(
        sdk('sk-sy-not-a-key').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const many = client.chat.completions.create({
        model: 'gpt-4o',
        n: 2,
        messages: [{ role: 'user', content: 'x' }],
      });
      await expect(many).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(many).rejects.toMatchObject({ status: 400, param: 'n', type: 'invalid_request_error' });
      const stops = client.chat.completions.create({
        model: 'gpt-4o',
        stop: ['a', 'b', 'c', 'd', 'e'],
        messages: [{ role: 'user', content: 'x' }],
      });
      await expect(stops).rejects.toMatchObject({ status: 400, param: 'stop' });
    });

    it('answers 429 with Retry-After when a key’s requestsPerMinute is used up, and x-ratelimit headers before', async () => {
      const limited = await cluster.member('rest-limited', { requestsPerMinute: 1 });
      const c = sdk(limited.secret);
      const { response } = await c.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'first' }] })
        .withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1');
      const refused = await c.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'second' }] })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
      expect(error.code).toBe('rate_limit_exceeded');
      expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(error.headers?.get('retry-after-ms'))).toBeGreaterThan(0);
      await expect(c.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toBeInstanceOf(
        OpenAI.RateLimitError,
      );
    });

    it('answers 429 insufficient_quota once a key’s budget is spent', async () => {
      const broke = await cluster.member('rest-broke', { dailyBudgetUsd: 0.000001 });
      const refused = await sdk(broke.secret)
        .chat.completions.create({ model: 'gpt-4o', max_tokens: 1000, messages: [{ role: 'user', content: 'spend' }] })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    });

    it('answers 503 when the upstream keeps failing after retries', async () => {
      openai.faults.always({ path: '/v1/chat/completions', status: 503 });
      try {
        const before = openai.requests.length;
        const failed = await client.chat.completions
          .create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'fail' }] })
          .catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
        expect(failed).toMatchObject({ status: 503 });
        expect(openai.requests.length - before).toBe(2); // the first try and one retry
      } finally {
        openai.faults.clear();
      }
    });

    it('records every call as a usage event, visible in the usage query', async () => {
      const member = await cluster.member('rest-usage');
      const c = sdk(member.secret);
      const from = new Date(Date.now() - 60_000).toISOString();
      await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count me' }] });
      const stream = await c.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'count me too' }],
        stream: true,
      });
      for await (const _ of stream);
      await c.embeddings.create({ model: 'text-embedding-3-small', input: ['a b c', 'd e'] });
      const to = new Date(Date.now() + 60_000).toISOString();
      const rows = await eventually(
        async () => {
          const reply = await cluster.admin<{
            usage: { model: string; apiKey: { id: string } | null; requests: number; completionTokens: number }[];
          }>(USAGE, { from, to });
          return (reply.data?.usage ?? []).filter((r) => r.apiKey?.id === keyGlobalId(member.keyId));
        },
        (found) => found.length === 2,
        { what: "the key's two usage rows" },
      );
      expect(rows.find((r) => r.model === 'gpt-4o-mini')).toMatchObject({ requests: 2 });
      expect(rows.find((r) => r.model === 'text-embedding-3-small')).toMatchObject({
        requests: 1,
        completionTokens: 0,
      });
    });

    it('aborts the upstream call when the client goes away mid-stream and records it CANCELLED', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i >= 3 ? held : undefined) });
      try {
        const controller = new AbortController();
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a long reply please' }], stream: true },
          { signal: controller.signal },
        );
        const upstream = openai.lastRequest('/v1/chat/completions');
        let text = '';
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          if (text !== '') controller.abort();
        }
        expect(text).not.toBe('');
        expect(upstream && (await openai.settled(upstream))).toBe('aborted');
        await eventually(
          () => cluster.db.usageEvent.count({ where: { apiKeyId: keyId, status: 'CANCELLED' } }),
          (n) => n === 1,
          { what: 'one CANCELLED usage event' },
        );
      } finally {
        release();
      }
    });

    it('lists the routable models and aliases a key reaches, and embeds', async () => {
      const models = await client.models.list();
      const ids = models.data.map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'claude-haiku-4-5', 'llama3.2:latest']));
      expect(models.data[0]).toMatchObject({ object: 'model' });
      expect(await client.models.retrieve('gpt-4o')).toMatchObject({ id: 'gpt-4o', owned_by: 'openai' });
      await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);

      const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello', 'world'] });
      expect(floats.data).toHaveLength(2);
      expect(floats.data[1]?.index).toBe(1);
      expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
      // The SDK asks for base64 and decodes it itself: the same vectors.
      const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
      expect(decoded.data[0]?.embedding).toHaveLength(floats.data[0]?.embedding.length as number);
      expect(decoded.data[0]?.embedding[0]).toBeCloseTo(floats.data[0]?.embedding[0] as number, 5);
    });
  });
}
