import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * One route plan per request, through the server: chat budgets and checks the request against
 * the deployments that may answer it, and the router streams over that same plan, so a
 * deployment of another kind that cannot take the request is skipped instead of sent it.
 */
const CHAT = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

describe('a mixed-kind alias, planned once per request', () => {
  let openai: FakeServer;
  let anthropic: FakeServer;
  let server: TestServer;
  let file: ReturnType<typeof writeConfigFile>;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
    openai.setReply('from GPT');
    anthropic.setReply('from Claude');
    file = writeConfigFile({
      aliases: {
        // Equal weights over two kinds: OpenAI takes temperatures up to 2, Anthropic up to 1.
        mixed: {
          strategy: 'weighted',
          deployments: [
            { provider: 'openai', model: 'gpt-4o-mini' },
            { provider: 'anthropic', model: 'claude-haiku-4-5' },
          ],
        },
        // A 200k-token deployment with a fallback of another kind whose window is 8k (gpt-4).
        wide: { deployments: [{ provider: 'anthropic', model: 'claude-haiku-4-5' }], fallbacks: ['openai/gpt-4'] },
      },
      resilience: { retry: { maxRetries: 0 } },
    });
    server = await startTestServer({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      OLLAMA_HOST: undefined,
      SWITCHYARD_CONFIG: file.path,
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
    file?.cleanup();
  });
  afterEach(() => {
    openai.faults.clear();
    anthropic.faults.clear();
  });

  const chats = (fake: FakeServer, path: string) => fake.requests.filter((r) => r.path === path).length;
  const openaiChats = () => chats(openai, '/v1/chat/completions');
  const anthropicChats = () => chats(anthropic, '/v1/messages');

  async function chat(input: Record<string, unknown>): Promise<StreamEventResult[]> {
    const client = wsClient(server.wsUrl);
    try {
      return await collect(client, CHAT, { input }, 'chat').done;
    } finally {
      await client.dispose();
    }
  }

  it('sends a temperature only Anthropic cannot take to the OpenAI deployment, every time', async () => {
    const before = { openai: openaiChats(), anthropic: anthropicChats() };
    const answers: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      const events = await chat({ content: `hot ${i}`, model: 'mixed', temperature: 1.5 });
      answers.push(events.at(-1)?.message?.provider);
    }
    expect(answers).toEqual(Array(8).fill('openai'));
    expect(openaiChats() - before.openai).toBe(8);
    expect(anthropicChats() - before.anthropic).toBe(0);
    const sent = openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1);
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 1.5 });
  });

  it('balances over both kinds when both can take the temperature', async () => {
    const providers = new Set<unknown>();
    for (let i = 0; providers.size < 2 && i < 40; i++) {
      providers.add((await chat({ content: `mild ${i}`, model: 'mixed', temperature: 0.5 })).at(-1)?.message?.provider);
    }
    expect(providers).toEqual(new Set(['openai', 'anthropic']));
  });

  it('refuses a temperature no deployment takes, naming each range, before calling any', async () => {
    const before = openaiChats() + anthropicChats();
    const client = wsClient(server.wsUrl);
    try {
      const attempt = collect(client, CHAT, { input: { content: 'hi', model: 'mixed', temperature: 2.5 } }, 'chat');
      await expect(attempt.done).rejects.toMatchObject([
        {
          message: "temperature 2.5 is outside openai's range 0..2 and anthropic's range 0..1",
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
    } finally {
      await client.dispose();
    }
    expect(openaiChats() + anthropicChats()).toBe(before);
  });

  it('skips a fallback whose window cannot hold the prompt budgeted for the first deployment', async () => {
    anthropic.faults.always({ status: 500 });
    const before = openaiChats();
    // About 12k tokens: within Claude's 200k window, over gpt-4's 8k.
    const long = await chat({ content: words(12_000), model: 'wide' });
    expect(long.at(-1)).toMatchObject({ __typename: 'MessageFailed', code: 'PROVIDER_UNAVAILABLE' });
    expect(openaiChats()).toBe(before);
    // A prompt that fits gpt-4 falls back to it as before.
    const short = await chat({ content: 'short', model: 'wide' });
    expect(short.at(-1)?.message).toMatchObject({ provider: 'openai', model: 'gpt-4', content: 'from GPT' });
  });
});
