import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { insertApiKey } from '../../src/policy/api-keys.js';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { collect } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * An API key's allowedModels, through the real server: model A is OpenAI's gpt-4o-mini, model B
 * Anthropic's claude-haiku-4-5. A key allowed only A reaches B by no name (bare, `provider/`
 * prefix, alias) and through no fallback; a key allowed an alias reaches what the alias routes to.
 */
const A = 'gpt-4o-mini';
const B = 'claude-haiku-4-5';

const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { conversation { id } assistantMessage { id } }
}`;
const MESSAGE = 'query ($id: ID!) { message(id: $id) { status provider model content error } }';

interface Message {
  status: string;
  provider: string | null;
  model: string | null;
  content: string;
  error: string | null;
}
interface SendPayload {
  conversation: { id: string };
  assistantMessage: { id: string };
}
interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

const backends = [
  { name: 'the embedded default', skip: false, shared: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl, shared: true },
];

for (const backend of backends)
  describe.skipIf(backend.skip)(
    `allowedModels against aliases, provider/ prefixes and fallbacks on ${backend.name}`,
    () => {
      let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
      let openai: FakeServer;
      let anthropic: FakeServer;
      let server: TestServer;
      let file: ReturnType<typeof writeConfigFile>;
      const keys = { onlyA: '', all: '', aliasWithFallback: '' };

      beforeAll(async () => {
        [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
        openai.setReply('from A');
        anthropic.setReply('from B');
        file = writeConfigFile({
          // No model given goes to B: the default is checked like any other model.
          defaultModel: `anthropic/${B}`,
          aliases: {
            // Round-robin over A and B: unrestricted, every other request goes to B.
            pair: {
              strategy: 'round-robin',
              deployments: [
                { provider: 'openai', model: A },
                { provider: 'anthropic', model: B },
              ],
            },
            onlyB: { deployments: [{ provider: 'anthropic', model: B }] },
            aWithFallbackB: { deployments: [{ provider: 'openai', model: A }], fallbacks: [`anthropic/${B}`] },
          },
          resilience: { retry: { maxRetries: 0 } },
        });
        scratch = backend.shared ? await createScratchDatabase(postgresUrl as string) : undefined;
        server = await startTestServer({
          ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
          OPENAI_API_KEY: 'sk-test',
          OPENAI_BASE_URL: openai.baseURL,
          ANTHROPIC_API_KEY: 'sk-ant-test',
          ANTHROPIC_BASE_URL: anthropic.baseURL,
          OLLAMA_HOST: undefined,
          SWITCHYARD_CONFIG: file.path,
        });
        // Once a key row exists anonymous requests are refused: everything below uses a key.
        const db = server.app.database.prisma;
        const key = async (name: string, allowedModels: string[] | null) =>
          (await insertApiKey(db, { userId: DEFAULT_USER_ID, name, scopes: ['CHAT'], allowedModels, expiresAt: null }))
            .secret;
        keys.onlyA = await key('only A', [A]);
        keys.all = await key('everything', null);
        keys.aliasWithFallback = await key('the alias', ['aWithFallbackB']);
      });
      afterAll(async () => {
        await server?.close();
        await Promise.all([openai?.close(), anthropic?.close()]);
        await scratch?.drop();
        file?.cleanup();
      });
      afterEach(() => {
        openai.faults.clear();
        anthropic.faults.clear();
      });

      const calls = (fake: FakeServer, path: string) => fake.requests.filter((r) => r.path === path).length;
      const aCalls = () => calls(openai, '/v1/chat/completions');
      const bCalls = () => calls(anthropic, '/v1/messages');

      async function post(secret: string, query: string, variables: Record<string, unknown>): Promise<GraphqlBody> {
        const response = await fetch(server.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json',
            authorization: `Bearer ${secret}`,
          },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as GraphqlBody;
      }

      /** Sends a message and waits for its end; returns the stored assistant message. */
      async function send(
        secret: string,
        input: Record<string, unknown>,
      ): Promise<Message & { conversationId: string }> {
        const sent = await post(secret, SEND, { input: { content: 'hello', ...input } });
        expect(sent.errors).toBeUndefined();
        const { conversation, assistantMessage } = (sent.data as { sendMessage: SendPayload }).sendMessage;
        const message = await eventually(
          async () => (await post(secret, MESSAGE, { id: assistantMessage.id })).data?.message as Message,
          (message) => message?.status !== 'STREAMING',
          { what: `message ${assistantMessage.id} to end` },
        );
        return { ...message, conversationId: conversation.id };
      }

      it('refuses B by bare id, by provider/ prefix, by explicit provider and by an alias of B, before anything is written', async () => {
        const before = { b: bCalls(), messages: await server.app.database.prisma.message.count() };
        for (const input of [{ model: B }, { model: `anthropic/${B}` }, { model: B, provider: 'anthropic' }]) {
          const refused = await post(keys.onlyA, SEND, { input: { content: 'hello', ...input } });
          expect(refused.errors).toEqual([
            expect.objectContaining({
              message: `this API key may not use model "${input.model}"`,
              extensions: expect.objectContaining({ code: 'FORBIDDEN', model: input.model }),
            }),
          ]);
        }
        const alias = await post(keys.onlyA, SEND, { input: { content: 'hello', model: 'onlyB' } });
        expect(alias.errors?.[0]).toMatchObject({
          message: 'this API key may not use model "onlyB"',
          extensions: { code: 'FORBIDDEN' },
        });
        const byDefault = await post(keys.onlyA, SEND, { input: { content: 'hello' } });
        expect(byDefault.errors?.[0]).toMatchObject({
          message: `this API key may not use model "anthropic/${B}"`,
          extensions: { code: 'FORBIDDEN' },
        });
        expect(bCalls()).toBe(before.b);
        expect(await server.app.database.prisma.message.count()).toBe(before.messages);
        // The same key uses A.
        expect(await send(keys.onlyA, { model: A })).toMatchObject({
          status: 'COMPLETE',
          provider: 'openai',
          content: 'from A',
        });
      });

      it("refuses a conversation's stored model B when the message names none", async () => {
        const { conversationId } = await send(keys.all, { model: B });
        const before = bCalls();
        const refused = await post(keys.onlyA, SEND, { input: { content: 'again', conversationId } });
        expect(refused.errors?.[0]).toMatchObject({
          message: `this API key may not use model "${B}"`,
          extensions: { code: 'FORBIDDEN' },
        });
        // Naming A in the same conversation is the key's own choice, and allowed.
        expect(await send(keys.onlyA, { model: A, conversationId })).toMatchObject({ provider: 'openai' });
        expect(bCalls()).toBe(before);
      });

      it('refuses B on the chat subscription over graphql-ws too', async () => {
        const client = createClient({
          url: server.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          connectionParams: { authorization: `Bearer ${keys.onlyA}` },
        });
        try {
          const chat = collect(
            client,
            'subscription ($input: SendMessageInput!) { chat(input: $input) { __typename } }',
            { input: { content: 'hello', model: `anthropic/${B}` } },
            'chat',
          );
          await expect(chat.done).rejects.toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
        } finally {
          await client.dispose();
        }
      });

      it('lists only the models the key may use, in `models` and in `providers { models }`', async () => {
        const query = '{ models { id provider } providers { name models { id } } }';
        type Listing = {
          models: { id: string; provider: string }[];
          providers: { name: string; models: { id: string }[] }[];
        };
        const narrow = (await post(keys.onlyA, query, {})).data as Listing;
        expect(narrow.models).toEqual([{ id: A, provider: 'openai' }]);
        expect(narrow.providers.flatMap((p) => p.models.map((m) => m.id))).toEqual([A]);
        const wide = (await post(keys.all, query, {})).data as Listing;
        expect(wide.models.map((m) => m.id)).toEqual(expect.arrayContaining([A, B, 'gpt-4o']));
        expect(wide.providers.flatMap((p) => p.models.map((m) => m.id))).toEqual(expect.arrayContaining([A, B]));
      });

      it('sends an alias over A and B only ever to A', async () => {
        const before = { a: aCalls(), b: bCalls() };
        const answered = [];
        for (let i = 0; i < 4; i++) answered.push((await send(keys.onlyA, { model: 'pair' })).provider);
        expect(answered).toEqual(['openai', 'openai', 'openai', 'openai']);
        expect(aCalls() - before.a).toBe(4);
        expect(bCalls()).toBe(before.b);
        // Unrestricted, the same alias reaches B within two requests (round-robin).
        const unrestricted = new Set([(await send(keys.all, { model: 'pair' })).provider]);
        unrestricted.add((await send(keys.all, { model: 'pair' })).provider);
        expect(unrestricted).toEqual(new Set(['openai', 'anthropic']));
      });

      it('never falls back to B when A fails, while an unrestricted key does', async () => {
        openai.faults.always({ status: 500 });
        const before = bCalls();
        const failed = await send(keys.onlyA, { model: 'aWithFallbackB' });
        expect(failed).toMatchObject({ status: 'FAILED', content: '' });
        expect(bCalls()).toBe(before);

        const fellBack = await send(keys.all, { model: 'aWithFallbackB' });
        expect(fellBack).toMatchObject({ status: 'COMPLETE', provider: 'anthropic', content: 'from B' });
        expect(bCalls()).toBe(before + 1);
      });

      it("lets an entry naming the alias reach the alias' deployments and its fallback, and nothing else", async () => {
        expect(await send(keys.aliasWithFallback, { model: 'aWithFallbackB' })).toMatchObject({ provider: 'openai' });
        openai.faults.always({ status: 500 });
        expect(await send(keys.aliasWithFallback, { model: 'aWithFallbackB' })).toMatchObject({
          status: 'COMPLETE',
          provider: 'anthropic',
          content: 'from B',
        });
        openai.faults.clear();
        // Its targets directly, by prefix or bare id.
        expect(await send(keys.aliasWithFallback, { model: `anthropic/${B}` })).toMatchObject({
          provider: 'anthropic',
        });
        expect(await send(keys.aliasWithFallback, { model: A })).toMatchObject({ provider: 'openai' });
        // A model the alias does not route to.
        const other = await post(keys.aliasWithFallback, SEND, { input: { content: 'hello', model: 'gpt-4.1' } });
        expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', model: 'gpt-4.1' });
      });
    },
  );
