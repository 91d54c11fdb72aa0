/**
 * Retries, fallbacks and breaker state per deployment on /metrics: an alias whose OpenAI
 * deployment answers 503 (retried once, then its circuit opens) and falls back to Anthropic; then
 * both failing, which shows as the generation's error_type. First, the provider status as probes fail and pass.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { type Sample, scrapeMetrics, total } from '../helpers/prometheus.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const PRIMARY = { gen_ai_provider_name: 'openai', deployment: 'openai/gpt-4o-mini' };
const SECONDARY = { gen_ai_provider_name: 'anthropic', deployment: 'anthropic/claude-haiku-4-5' };

describe('/metrics: retries, fallbacks and breakers', () => {
  let server: TestServer;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;

  const complete = async (content: string) => {
    const response = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'resilient', messages: [{ role: 'user', content }] }),
    });
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    openai = await startOpenAIFake({ reply: 'from openai' });
    anthropic = await startAnthropicFake({ reply: 'from anthropic' });
    file = writeConfigFile({
      aliases: {
        resilient: {
          deployments: [{ provider: 'openai', model: 'gpt-4o-mini' }],
          fallbacks: ['anthropic/claude-haiku-4-5'],
        },
      },
      resilience: {
        retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 },
        breaker: { failureThreshold: 2 },
      },
      // Probes far apart: the provider status below moves by the one probe round the test asks for.
      health: { intervalMs: 3_600_000 },
    });
    server = await startTestServer({ ...fakeProviderEnv({ openai, anthropic }), SWITCHYARD_CONFIG: file.path });
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    await anthropic?.close();
    file?.cleanup();
  });
  afterEach(() => {
    openai.faults.clear();
    anthropic.faults.clear();
  });

  it('reports a provider whose probes fail as down, and up again once they pass', async () => {
    const up = () =>
      scrapeMetrics(server.origin).then((s) => total(s, 'switchyard_provider_up', { gen_ai_provider_name: 'openai' }));
    await eventually(up, (value) => value === 1, { what: 'openai reported up' });
    openai.faults.always({ path: '/v1/models', status: 500 });
    await server.app.providers.monitor.probeAll();
    const down = await scrapeMetrics(server.origin);
    expect(total(down, 'switchyard_provider_up', { gen_ai_provider_name: 'openai' })).toBe(0);
    expect(total(down, 'switchyard_provider_status', { gen_ai_provider_name: 'openai', status: 'DOWN' })).toBe(1);
    expect(total(down, 'switchyard_provider_status', { gen_ai_provider_name: 'openai', status: 'UP' })).toBe(0);
    openai.faults.clear();
    await server.app.providers.monitor.probeAll();
    expect(await up()).toBe(1);
  });

  it('counts the retry and the fallback of the deployment that failed, and its circuit as OPEN', async () => {
    const before = await scrapeMetrics(server.origin);
    openai.faults.always({ path: '/v1/chat/completions', status: 503 });
    const answered = await complete('first');
    expect(answered.status).toBe(200);
    expect(answered.body).toContain('from anthropic');
    expect(openai.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(2);

    const after = await scrapeMetrics(server.origin);
    const gained = (name: string, where: Record<string, string>) =>
      total(after, name, where) - total(before, name, where);
    expect(gained('switchyard_upstream_retries_total', PRIMARY)).toBe(1);
    expect(gained('switchyard_upstream_fallbacks_total', PRIMARY)).toBe(1);
    expect(gained('switchyard_upstream_calls_total', { ...PRIMARY, outcome: 'retryable_error' })).toBe(2);
    expect(gained('switchyard_upstream_retries_total', SECONDARY)).toBe(0);
    expect(gained('switchyard_upstream_fallbacks_total', SECONDARY)).toBe(0);
    expect(gained('switchyard_upstream_calls_total', { ...SECONDARY, outcome: 'success' })).toBe(1);
    expect(total(after, 'switchyard_circuit_breaker_state', { ...PRIMARY, state: 'OPEN' })).toBe(1);
    expect(total(after, 'switchyard_circuit_breaker_state', { ...PRIMARY, state: 'CLOSED' })).toBe(0);
    // The generation is counted under the deployment that answered.
    expect(
      gained('gen_ai_client_operation_duration_seconds_count', {
        gen_ai_provider_name: 'anthropic',
        gen_ai_request_model: 'claude-haiku-4-5',
      }),
    ).toBe(1);
  });

  it('shows a request every deployment failed as its error code, and a fallback without retry past the open circuit', async () => {
    const before = await scrapeMetrics(server.origin);
    openai.faults.always({ path: '/v1/chat/completions', status: 503 });
    anthropic.faults.always({ path: '/v1/messages', status: 503 });
    const failed = await complete('second');
    expect(failed.status).toBe(503);

    const after = await scrapeMetrics(server.origin);
    const gained = (name: string, where: Record<string, string>) =>
      total(after, name, where) - total(before, name, where);
    const withCode = (samples: Sample[]) =>
      samples.filter((s) => s.name === 'gen_ai_client_operation_duration_seconds_count' && s.labels.error_type);
    const codes = withCode(after).map((s) => [
      s.labels.error_type,
      s.value - (withCode(before).find((b) => JSON.stringify(b.labels) === JSON.stringify(s.labels))?.value ?? 0),
    ]);
    expect(codes).toEqual([['PROVIDER_UNAVAILABLE', 1]]);
    // OpenAI's circuit is open: refused without a call, then left for Anthropic.
    expect(gained('switchyard_upstream_fallbacks_total', PRIMARY)).toBe(1);
    expect(gained('switchyard_upstream_calls_total', PRIMARY)).toBe(0);
    expect(gained('switchyard_upstream_retries_total', SECONDARY)).toBe(1);
    expect(gained('switchyard_upstream_calls_total', { ...SECONDARY, outcome: 'retryable_error' })).toBe(2);
  });
});
