/**
 * U+0000 in anything a client sends to be stored: Postgres text cannot hold it, so it is refused
 * before anything is written, as BAD_USER_INPUT naming the argument (GraphQL, literals and
 * variables alike) or a 400 invalid_request_error in each REST API's own shape (stored calls),
 * instead of failing the write (a masked 500).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat } from './helpers/limits-client.js';
import {
  LIMITS_BACKENDS,
  type LimitsCluster,
  type Member,
  post,
  type Reply,
  startLimitsCluster,
} from './helpers/limits-cluster.js';

const NUL = '\u0000';
const MODEL = 'mock-echo';
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';

/** The first error's code and field. */
const refusal = (reply: Reply) => ({
  status: reply.status,
  code: reply.errors?.[0]?.extensions?.code,
  field: reply.errors?.[0]?.extensions?.field,
  message: reply.errors?.[0]?.message,
});

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`U+0000 in what would be stored: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let alice: Member;

    beforeAll(async () => {
      cluster = await startLimitsCluster(backend);
      alice = await cluster.member('alice');
    });
    afterAll(async () => {
      await cluster?.close();
    });

    /** What alice has stored, all of it: a refused request must leave every count as it was. */
    const stored = async () => {
      const where = { userId: alice.userId };
      const db = cluster.db;
      return {
        conversations: await db.conversation.count({ where }),
        messages: await db.message.count({ where }),
        memories: await db.memory.count({ where }),
        documents: await db.document.count({ where }),
        apiKeys: await db.apiKey.count({ where }),
      };
    };
    const nothingStored = { conversations: 0, messages: 0, memories: 0, documents: 0, apiKeys: 1 };

    it('GraphQL refuses it with BAD_USER_INPUT naming the argument, in literals and variables, storing nothing', async () => {
      const as = (query: string, variables?: Record<string, unknown>) =>
        post(cluster.pick(0), alice.secret, query, variables);
      const cases: [string, Promise<Reply>, string][] = [
        [
          'sendMessage content (literal)',
          as(
            `mutation { sendMessage(input: { content: "a\\u0000b", model: "${MODEL}" }) { assistantMessage { id } } }`,
          ),
          'input.content',
        ],
        ['sendMessage content', as(SEND, { input: { content: `a${NUL}b`, model: MODEL } }), 'input.content'],
        [
          'sendMessage systemPrompt',
          as(SEND, { input: { content: 'hi', systemPrompt: `be${NUL}brief`, model: MODEL } }),
          'input.systemPrompt',
        ],
        [
          'sendMessage tool parameters (JSON)',
          as(SEND, {
            input: { content: 'hi', model: MODEL, tools: [{ name: 'lookup', parameters: { [`q${NUL}`]: 1 } }] },
          }),
          'input.tools.parameters',
        ],
        [
          'remember',
          as('mutation($input: RememberInput!) { remember(input: $input) { id } }', {
            input: { content: `likes${NUL}tea` },
          }),
          'input.content',
        ],
        [
          'ingestDocument',
          as('mutation($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }', {
            input: { title: 'notes', content: `some${NUL}text` },
          }),
          'input.content',
        ],
        [
          'createApiKey name',
          cluster.admin('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', {
            input: { userId: Buffer.from(`User:${alice.userId}`).toString('base64url'), name: `key${NUL}` },
          }),
          'input.name',
        ],
        ['search query', as('query($q: String!) { search(query: $q) { score } }', { q: `tea${NUL}` }), 'query'],
      ];
      for (const [what, reply, field] of cases) {
        expect(refusal(await reply), what).toMatchObject({
          code: 'BAD_USER_INPUT',
          field,
          message: expect.stringContaining('NUL'),
        });
      }
      const chat = await openChat(cluster.pick(0), alice.secret, { content: `a${NUL}b`, model: MODEL });
      expect(chat.refusal).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.content' });
      expect(await stored()).toEqual(nothingStored);
    });

    it('a stored OpenAI call is a 400 invalid_request_error, naming messages, storing nothing', async () => {
      const openai = new OpenAI({
        apiKey: alice.secret,
        baseURL: `${cluster.pick(0).origin}/v1`,
        maxRetries: 0,
        defaultHeaders: { 'x-switchyard-conversation': 'new' },
      });
      const calls: [string, OpenAI.ChatCompletionMessageParam[]][] = [
        ['content', [{ role: 'user', content: `a${NUL}b` }]],
        [
          'system',
          [
            { role: 'system', content: `be${NUL}brief` },
            { role: 'user', content: 'hi' },
          ],
        ],
        [
          'an earlier turn',
          [
            { role: 'user', content: `first${NUL}` },
            { role: 'assistant', content: 'ok' },
            { role: 'user', content: 'second' },
          ],
        ],
      ];
      for (const [what, messages] of calls) {
        const error = await openai.chat.completions.create({ model: MODEL, messages }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, what).toBeInstanceOf(OpenAI.APIError);
        expect(error, what).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages' });
        expect((error as Error).message, what).toContain('NUL');
      }
      expect(await stored()).toEqual(nothingStored);
    });

    it('a stored Anthropic call is a 400 invalid_request_error, storing nothing', async () => {
      const anthropic = new Anthropic({
        apiKey: alice.secret,
        baseURL: cluster.pick(0).origin,
        maxRetries: 0,
        defaultHeaders: { 'x-switchyard-conversation': 'new' },
      });
      const calls: [string, Anthropic.MessageCreateParamsNonStreaming][] = [
        ['content', { model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: `a${NUL}b` }] }],
        [
          'system',
          { model: MODEL, max_tokens: 50, system: `be${NUL}brief`, messages: [{ role: 'user', content: 'hi' }] },
        ],
      ];
      for (const [what, params] of calls) {
        const error = await anthropic.messages.create(params).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, what).toBeInstanceOf(Anthropic.APIError);
        expect(error, what).toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error' } } });
        expect((error as Error).message, what).toContain('NUL');
      }
      expect(await stored()).toEqual(nothingStored);
    });
  });
}
