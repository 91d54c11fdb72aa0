/**
 * `/metrics` through the real server: a chat over GraphQL and one over REST against the OpenAI
 * fake, then the Prometheus text scraped and parsed. Token counts equal the stored usage events,
 * the GenAI histograms count each generation, an injected 503 shows up as `error_type` and as
 * upstream calls per deployment, and METRICS_TOKEN / METRICS_PORT are honoured.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { until } from '../helpers/eventually.js';
import { parseMetrics, total } from '../helpers/prometheus.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const TOKEN = 'metrics-token-0123456789abcdef0123456789';
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const MESSAGE = `query ($id: ID!) { node(id: $id) { ... on Message { status content } } }`;

describe('/metrics', () => {
  let server: TestServer;
  let openai: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;

  const scrape = async (token: string | undefined = TOKEN, origin = server.origin) => {
    const response = await fetch(`${origin}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { response, text: await response.text() };
  };
  const samples = async () => parseMetrics((await scrape()).text);
  const storedUsage = async () => {
    const rows = await server.app.database.prisma.usageEvent.findMany({ where: { model: 'gpt-4o-mini' } });
    return {
      prompt: rows.reduce((sum, r) => sum + r.promptTokens, 0),
      completion: rows.reduce((sum, r) => sum + r.completionTokens, 0),
      count: rows.length,
    };
  };
  const GENAI = { gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini', gen_ai_operation_name: 'chat' };

  beforeAll(async () => {
    openai = await startOpenAIFake();
    file = writeConfigFile({
      resilience: {
        retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 },
        // Two failures in a row open a deployment's circuit: the injected 503 (and its retry) does.
        breaker: { failureThreshold: 2 },
      },
    });
    server = await startTestServer({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      SWITCHYARD_CONFIG: file.path,
      METRICS_TOKEN: TOKEN,
    });
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    file?.cleanup();
  });
  afterEach(() => openai.faults.clear());

  it('refuses a scrape without the token with 401 and a plain body, and serves Prometheus text with it', async () => {
    const none = await scrape('');
    expect(none.response.status).toBe(401);
    expect(none.response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(none.text).toMatch(/METRICS_TOKEN/);
    expect((await scrape('wrong-token')).response.status).toBe(401);

    const ok = await scrape();
    expect(ok.response.status).toBe(200);
    expect(ok.response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const parsed = parseMetrics(ok.text);
    // Node process metrics, in this server's own registry.
    expect(parsed.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(parsed.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts the tokens of a GraphQL chat and a REST chat as stored, with TTFT and duration histograms', async () => {
    const before = await samples();
    openai.setReply('one two three four five six seven');
    const sent = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { content: 'count my tokens please', model: 'gpt-4o-mini' },
    });
    const id = sent.data?.sendMessage.assistantMessage.id as string;
    expect(id).toBeTruthy();
    await until(async () => {
      const result = await server.query<{ node: { status: string } }>(MESSAGE, { id });
      return result.data?.node.status === 'COMPLETE';
    }, 'the GraphQL chat to complete');

    const rest = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'and these over REST' }],
      }),
    });
    expect(rest.status).toBe(200);
    expect(await rest.text()).toMatch(/\[DONE\]/);

    const stored = await storedUsage();
    await until(async () => {
      const now = await samples();
      return (
        total(now, 'gen_ai_client_operation_duration_seconds_count', GENAI) -
          total(before, 'gen_ai_client_operation_duration_seconds_count', GENAI) >=
        2
      );
    }, 'both generations to be counted');
    const after = await samples();
    const input = { ...GENAI, gen_ai_token_type: 'input' };
    const output = { ...GENAI, gen_ai_token_type: 'output' };
    expect(stored.count).toBe(2);
    expect(total(after, 'gen_ai_client_token_usage_sum', input)).toBe(stored.prompt);
    expect(total(after, 'gen_ai_client_token_usage_sum', output)).toBe(stored.completion);
    expect(total(after, 'gen_ai_client_token_usage_count', output)).toBe(2);
    expect(total(after, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', GENAI)).toBe(2);
    expect(total(after, 'gen_ai_client_operation_time_per_output_chunk_seconds_count', GENAI)).toBe(2);
    // Successful generations carry no error_type.
    expect(
      after.filter((s) => s.name === 'gen_ai_client_operation_duration_seconds_count' && s.labels.error_type),
    ).toEqual([]);
    // The +Inf bucket holds every observation: buckets are the conventions' (10 ms doubling).
    expect(
      after.some((s) => s.name === 'gen_ai_client_operation_duration_seconds_bucket' && s.labels.le === '81.92'),
    ).toBe(true);
    expect(
      total(after, 'switchyard_upstream_calls_total', { deployment: 'openai/gpt-4o-mini', outcome: 'success' }),
    ).toBe(2);
    expect(total(after, 'switchyard_http_requests_total', { route: '/graphql', status: '200' })).toBeGreaterThan(0);
    expect(total(after, 'switchyard_http_requests_total', { route: '/v1/chat/completions', status: '200' })).toBe(1);
    // Nothing names a user, a key or a request.
    for (const sample of after) {
      expect(Object.keys(sample.labels).filter((l) => /user|key|request_id|conversation/.test(l))).toEqual([]);
    }
  });

  it('shows an injected 503 as error_type on the duration and as failed upstream calls of the deployment', async () => {
    openai.faults.always({ path: '/v1/chat/completions', status: 503 });
    const response = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail please' }] }),
    });
    expect(response.status).toBeGreaterThanOrEqual(500);
    await response.text();

    const after = await samples();
    const failed = after.filter(
      (s) =>
        s.name === 'gen_ai_client_operation_duration_seconds_count' &&
        s.labels.gen_ai_request_model === 'gpt-4o-mini' &&
        s.labels.error_type,
    );
    expect(failed.map((s) => [s.labels.error_type, s.value])).toEqual([['PROVIDER_UNAVAILABLE', 1]]);
    // Tried twice (one retry), both retryable failures of the one deployment.
    expect(
      total(after, 'switchyard_upstream_calls_total', { deployment: 'openai/gpt-4o-mini', outcome: 'retryable_error' }),
    ).toBe(2);
    expect(
      total(after, 'switchyard_http_requests_total', {
        route: '/v1/chat/completions',
        status: String(response.status),
      }),
    ).toBe(1);
  });

  it('keeps models the router does not know out of the labels', async () => {
    openai.setReply('fine');
    const response = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-made-up-by-a-caller-123', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await response.text();
    const after = await samples();
    expect(JSON.stringify(after)).not.toContain('gpt-made-up-by-a-caller-123');
    expect(
      total(after, 'gen_ai_client_operation_duration_seconds_count', {
        gen_ai_provider_name: 'openai',
        gen_ai_request_model: 'other',
      }),
    ).toBe(1);
  });

  it('counts a rate-limit refusal by the limit that refused it', async () => {
    const limited = await server.query(
      `mutation ($userId: ID!) { setLimits(userId: $userId, limits: { requestsPerMinute: 1 }) { requestsPerMinute } }`,
      { userId: encodeGlobalId('User', DEFAULT_USER_ID) },
    );
    expect(limited.errors).toBeUndefined();
    // The first request of the minute passes (gpt-4o: gpt-4o-mini's circuit is open), the second is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${server.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one more' }] }),
      });
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses).toEqual([200, 429]);
    const after = await samples();
    expect(total(after, 'switchyard_limit_refusals_total', { code: 'RATE_LIMITED', limit: 'requestsPerMinute' })).toBe(
      1,
    );
    expect(total(after, 'switchyard_http_requests_total', { route: '/v1/chat/completions', status: '429' })).toBe(1);
  });
});

describe('/metrics on METRICS_PORT', () => {
  it('is served on its own listener, not on the main port', async () => {
    const server = await startTestServer({ METRICS_PORT: '0' });
    expect(server.metricsPort).not.toBe(server.port);
    const main = await fetch(`${server.origin}/metrics`);
    expect(main.status).toBe(404);
    await main.text();
    const own = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(own.status).toBe(200);
    expect(parseMetrics(await own.text()).some((s) => s.name === 'switchyard_http_requests_total')).toBe(true);
    const other = await fetch(`http://127.0.0.1:${server.metricsPort}/graphql`);
    expect(other.status).toBe(404);
    await other.text();
  });
});
