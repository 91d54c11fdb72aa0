import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { eventually } from '../helpers/eventually.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * The xAI preset (src/providers/xai: one folder over the OpenAI adapter, one line in the list of
 * definitions) through the real server, against the OpenAI wire fake standing in for api.x.ai.
 */
const CHAT = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const PROVIDERS = '{ providers { name kind status models { id contextWindow } } }';

interface ProviderRow {
  name: string;
  kind: string;
  status: string;
  models: { id: string; contextWindow: number | null }[];
}

describe('an OpenAI-compatible preset added as one provider definition', () => {
  let xai: FakeServer;
  let server: TestServer;
  let file: ReturnType<typeof writeConfigFile>;

  beforeAll(async () => {
    xai = await startOpenAIFake({ apiKey: 'xai-test', models: [{ id: 'grok-3-mini' }, { id: 'grok-4' }] });
    xai.setReply('Hello from Grok');
    // A named deployment of the new kind from the config file, with its own key variable.
    file = writeConfigFile({
      providers: { 'grok-eu': { kind: 'xai', baseURL: xai.baseURL, apiKeyEnv: 'EU_XAI_KEY' } },
    });
    server = await startTestServer({
      XAI_API_KEY: 'xai-test',
      XAI_BASE_URL: xai.baseURL,
      EU_XAI_KEY: 'xai-test',
      OLLAMA_HOST: undefined,
      SWITCHYARD_CONFIG: file.path,
    });
  });
  afterAll(async () => {
    await server?.close();
    await xai?.close();
    file?.cleanup();
  });

  const chat = async (input: Record<string, unknown>) => {
    const client = wsClient(server.wsUrl);
    try {
      return await collect<StreamEventResult>(client, CHAT, { input }, 'chat').done;
    } finally {
      await client.dispose();
    }
  };

  it('routes a grok- model id to it by inference, with its key, and answers', async () => {
    const before = xai.requests.length;
    const events = await chat({ content: 'hi', model: 'grok-3-mini' });
    const completed = events.at(-1);
    expect(completed?.__typename).toBe('MessageCompleted');
    expect(completed?.message).toMatchObject({ provider: 'xai', model: 'grok-3-mini', content: 'Hello from Grok' });
    const sent = xai.requests.slice(before).find((r) => r.path === '/v1/chat/completions');
    expect(sent?.headers.authorization).toBe('Bearer xai-test');
    expect(sent?.body).toMatchObject({ model: 'grok-3-mini', stream: true });
  });

  it("refuses a temperature outside the kind's range before calling it", async () => {
    const before = xai.requests.length;
    const client = wsClient(server.wsUrl);
    try {
      const failure = collect(client, CHAT, { input: { content: 'hi', model: 'grok-4', temperature: 2.5 } }, 'chat');
      await expect(failure.done).rejects.toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    } finally {
      await client.dispose();
    }
    expect(xai.requests.slice(before).filter((r) => r.path === '/v1/chat/completions')).toEqual([]);
  });

  it('lists the preset and the named deployment of its kind, with windows from its table', async () => {
    const rows = await eventually(
      async () => (await server.query<{ providers: ProviderRow[] }>(PROVIDERS)).data?.providers ?? [],
      (r) => r.filter((p) => p.kind === 'xai' && p.status === 'UP').length === 2,
    );
    expect(rows.filter((p) => p.kind === 'xai').map((p) => p.name)).toEqual(['xai', 'grok-eu']);
    expect(rows.find((p) => p.name === 'xai')?.models).toEqual([
      { id: 'grok-3-mini', contextWindow: 131_072 },
      { id: 'grok-4', contextWindow: 256_000 },
    ]);
    const events = await chat({ content: 'hi', provider: 'grok-eu' });
    expect(events.at(-1)?.message).toMatchObject({ provider: 'grok-eu', model: 'grok-3-mini' });
  });
});

describe('provider kinds in the environment and the config file', () => {
  it('leaves the preset out of `providers` while its key is unset', async () => {
    const server = await startTestServer({ OLLAMA_HOST: undefined });
    const result = await server.query<{ providers: { name: string }[] }>('{ providers { name } }');
    expect(result.data?.providers.map((p) => p.name)).toEqual(['openai', 'anthropic', 'ollama', 'mock']);
  });

  it('refuses a named deployment of an unknown kind, naming the kinds there are', async () => {
    const file = writeConfigFile({ providers: { cohere: { kind: 'cohere' } } });
    try {
      await expect(startTestServer({ SWITCHYARD_CONFIG: file.path })).rejects.toThrow(ConfigError);
      await expect(startTestServer({ SWITCHYARD_CONFIG: file.path })).rejects.toThrow(
        /providers\.cohere\.kind to be one of openai, anthropic, ollama, xai/,
      );
    } finally {
      file.cleanup();
    }
  });

  it("refuses a base URL that is not http(s), naming the definition's variable", async () => {
    await expect(startTestServer({ XAI_API_KEY: 'k', XAI_BASE_URL: 'ftp://x' })).rejects.toThrow(
      'Invalid configuration: XAI_BASE_URL="ftp://x" is not allowed; expected an http(s) URL.',
    );
  });
});
