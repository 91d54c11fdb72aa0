/**
 * A chat through each provider fake (OpenAI, Anthropic, Ollama) over graphql-ws, one over SSE and
 * one streamed over REST, then /metrics scraped and parsed: per provider the token counts equal the
 * stored usage events and the TTFT and duration histograms count one generation each; deltas sent
 * are counted by transport and equal what the clients received; GraphQL operations are counted by
 * name with their error codes; open streams and subscribers are back to 0 once everything ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { type Sample, scrapeMetrics, total } from '../helpers/prometheus.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const CHAT = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const MODELS = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5', ollama: 'llama3.2' } as const;
type ProviderName = keyof typeof MODELS;

describe('/metrics after a chat through each provider', () => {
  let server: TestServer;
  const fakes: Partial<Record<ProviderName, FakeServer>> = {};
  let before: Sample[];
  const received = { 'graphql-ws': 0, sse: 0, rest: 0 };

  beforeAll(async () => {
    fakes.openai = await startOpenAIFake({ reply: 'one two three four five' });
    fakes.anthropic = await startAnthropicFake({ reply: 'six seven eight nine' });
    fakes.ollama = await startOllamaFake({ reply: 'ten eleven twelve' });
    server = await startTestServer(fakeProviderEnv(fakes));
    before = await scrapeMetrics(server.origin);

    const ws = wsClient(server.wsUrl);
    for (const [provider, model] of Object.entries(MODELS)) {
      const chat = collect<StreamEventResult>(
        ws,
        CHAT,
        { input: { content: `hello ${provider}, count my tokens`, model } },
        'chat',
      );
      const events = await chat.done;
      expect(events.at(-1)?.__typename, provider).toBe('MessageCompleted');
      received['graphql-ws'] += events.filter((e) => e.__typename === 'MessageDelta').length;
    }
    await ws.dispose();

    const sse = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: CHAT, variables: { input: { content: 'over SSE', model: MODELS.openai } } }),
    });
    const body = await sse.text();
    received.sse = body.split('\n\n').filter((block) => block.includes('"__typename":"MessageDelta"')).length;

    const rest = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.openai, stream: true, messages: [{ role: 'user', content: 'over REST' }] }),
    });
    const frames = (await rest.text()).split('\n\n').filter((f) => f.startsWith('data: {'));
    received.rest = frames.filter((f) => {
      const content = JSON.parse(f.slice(6)).choices?.[0]?.delta?.content;
      return typeof content === 'string' && content !== '';
    }).length;
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all(Object.values(fakes).map((fake) => fake.close()));
  });

  /** What a counter or histogram gained since before the chats. */
  const gained = (after: Sample[], name: string, where: Record<string, string> = {}) =>
    total(after, name, where) - total(before, name, where);

  it('counts the tokens of each provider as stored, and one TTFT and duration observation per chat', async () => {
    const rows = await server.app.database.prisma.usageEvent.findMany();
    const after = await eventually(
      () => scrapeMetrics(server.origin),
      (samples) => gained(samples, 'gen_ai_client_operation_duration_seconds_count') >= 5,
      { what: 'five generations counted' },
    );
    for (const [provider, model] of Object.entries(MODELS)) {
      const stored = rows.filter((r) => r.provider === provider);
      const genai = { gen_ai_operation_name: 'chat', gen_ai_provider_name: provider, gen_ai_request_model: model };
      const chats = provider === 'openai' ? 3 : 1;
      expect(stored, provider).toHaveLength(chats);
      const input = { ...genai, gen_ai_token_type: 'input' };
      const output = { ...genai, gen_ai_token_type: 'output' };
      const sum = (key: 'promptTokens' | 'completionTokens') => stored.reduce((n, r) => n + r[key], 0);
      expect(sum('promptTokens'), provider).toBeGreaterThan(0);
      expect(gained(after, 'gen_ai_client_token_usage_sum', input), provider).toBe(sum('promptTokens'));
      expect(gained(after, 'gen_ai_client_token_usage_sum', output), provider).toBe(sum('completionTokens'));
      expect(gained(after, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', genai), provider).toBe(chats);
      expect(gained(after, 'gen_ai_client_operation_duration_seconds_count', genai), provider).toBe(chats);
      expect(
        gained(after, 'switchyard_upstream_calls_total', { gen_ai_provider_name: provider, outcome: 'success' }),
      ).toBe(chats);
    }
  });

  it('counts the deltas each transport sent, as many as its client received', async () => {
    expect(received['graphql-ws']).toBeGreaterThan(0);
    expect(received.sse).toBeGreaterThan(0);
    expect(received.rest).toBeGreaterThan(0);
    const after = await scrapeMetrics(server.origin);
    for (const transport of ['graphql-ws', 'sse', 'rest'] as const) {
      expect(gained(after, 'switchyard_stream_deltas_sent_total', { transport }), transport).toBe(received[transport]);
    }
  });

  it('counts the subscriptions by name and transport, and leaves none open', async () => {
    const after = await eventually(
      () => scrapeMetrics(server.origin),
      (samples) => total(samples, 'switchyard_graphql_subscribers_open') === 0,
      { what: 'no subscriber left open' },
    );
    const started = (transport: string) =>
      gained(after, 'switchyard_graphql_subscriptions_started_total', { name: 'Chat', transport });
    const ended = (transport: string) =>
      gained(after, 'switchyard_graphql_subscriptions_ended_total', { name: 'Chat', transport });
    expect([started('graphql-ws'), ended('graphql-ws'), started('sse'), ended('sse')]).toEqual([3, 3, 1, 1]);
    expect(gained(after, 'switchyard_graphql_subscription_duration_seconds_count', { name: 'Chat' })).toBe(4);
    expect(gained(after, 'switchyard_graphql_operations_total', { type: 'subscription', name: 'Chat' })).toBe(4);
    expect(total(after, 'switchyard_websocket_connections_open')).toBe(0);
  });

  it('has no stream open once every generation ended, and reports each provider up and the database pool', async () => {
    const after = await eventually(
      () => scrapeMetrics(server.origin),
      (samples) =>
        total(samples, 'switchyard_streams_open') === 0 &&
        Object.keys(MODELS).every((p) => total(samples, 'switchyard_provider_up', { gen_ai_provider_name: p }) === 1),
      { what: 'no open stream and every provider up' },
    );
    expect(after.some((s) => s.name === 'switchyard_streams_open')).toBe(true);
    expect(total(after, 'switchyard_provider_status', { gen_ai_provider_name: 'anthropic', status: 'UP' })).toBe(1);
    expect(total(after, 'switchyard_provider_status', { gen_ai_provider_name: 'anthropic', status: 'DOWN' })).toBe(0);
    expect(total(after, 'switchyard_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    expect(total(after, 'switchyard_db_pool_connections', { state: 'waiting' })).toBe(0);
  });

  it('counts GraphQL operations by name, with their errors by extensions.code', async () => {
    const start = await scrapeMetrics(server.origin);
    for (let i = 0; i < 3; i++) {
      const health = await server.query(`query Health { health { status } }`);
      expect(health.errors).toBeUndefined();
    }
    await server.query(`{ health { status } }`);
    const refused = await server.query(
      `mutation Send { sendMessage(input: { content: "" }) { assistantMessage { id } } }`,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unparsable = await server.query(`query Broken {`);
    expect(unparsable.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const after = await scrapeMetrics(server.origin);
    const grew = (name: string, where: Record<string, string>) => total(after, name, where) - total(start, name, where);
    expect(grew('switchyard_graphql_operations_total', { type: 'query', name: 'Health' })).toBe(3);
    expect(grew('switchyard_graphql_operation_duration_seconds_count', { type: 'query', name: 'Health' })).toBe(3);
    expect(grew('switchyard_graphql_operations_total', { type: 'query', name: 'anonymous' })).toBe(1);
    expect(grew('switchyard_graphql_errors_total', { type: 'query' })).toBe(0);
    expect(grew('switchyard_graphql_operations_total', { type: 'mutation', name: 'Send' })).toBe(1);
    expect(grew('switchyard_graphql_errors_total', { type: 'mutation', name: 'Send', code: 'BAD_USER_INPUT' })).toBe(1);
    // A document that does not parse never became an operation: counted apart, by its code.
    expect(grew('switchyard_graphql_errors_total', { type: 'none', code: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
  });
});
