/**
 * An upstream whose streamed event never ends (bytes with no line end, for as long as the gateway
 * reads): the gateway stops reading within a few MiB, fails the call in the API's own shape and
 * stays healthy. Before, each provider's reader kept the whole line and searched it all again on
 * every read. Through the official openai client, for each upstream kind.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** What the fake would send in all: far past what the gateway may read. */
const ENDLESS_BYTES = 256 * 1024 * 1024;

describe('an upstream event that never ends', () => {
  let server: TestServer;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let ollama: FakeServer;
  let client: OpenAI;

  beforeAll(async () => {
    [openai, anthropic, ollama] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startOllamaFake()]);
    server = await startTestServer(fakeProviderEnv({ openai, anthropic, ollama }));
    const caller = await keyCaller(server.app.database.prisma, 'endless');
    client = new OpenAI({ apiKey: caller.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
  });

  const upstreams = () => [
    { model: 'gpt-4o-mini', fake: openai, path: '/v1/chat/completions' },
    { model: 'claude-haiku-4-5', fake: anthropic, path: '/v1/messages' },
    { model: 'ollama/llama3.2', fake: ollama, path: '/api/chat' },
  ];

  it('is cut off by the gateway, which answers with an error and stays healthy', async () => {
    for (const { model, fake, path } of upstreams()) {
      fake.faults.always({ path, endlessLineAfterChunks: 1, endlessLineBytes: ENDLESS_BYTES });
      const before = fake.requests.length;
      const reading = (async () => {
        const stream = await client.chat.completions.create({
          model,
          stream: true,
          messages: [{ role: 'user', content: 'tell me something long' }],
        });
        for await (const _ of stream);
      })();
      await expect(reading, model).rejects.toThrow();
      fake.faults.clear();
      const calls = fake.requests.slice(before).filter((r) => r.path === path);
      expect(calls.length, model).toBeGreaterThan(0);
      // The gateway closed every such call: the fake stopped writing long before ENDLESS_BYTES.
      await eventually(
        () => calls.map((call) => call.outcome),
        (outcomes) => outcomes.every((outcome) => outcome === 'aborted'),
        { what: `${model}: the gateway to close its upstream calls` },
      );
      const health = await fetch(`${server.origin}/health/live`);
      expect(health.status, model).toBe(200);
    }
  }, 180_000);
});
