/**
 * A client's JSON Schema is compiled and every reply is checked against it on the event loop, so
 * its cost must be bounded before anything else happens: a schema whose checks double per level,
 * whose patterns expand to huge programs, or whose $ref loops is refused (BAD_USER_INPUT over
 * GraphQL, 400 invalid_request_error over REST), nothing is stored and nothing is sent upstream.
 * A reply too deep to check against a recursive schema fails the turn as INVALID_OUTPUT.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { type Caller, keyCaller } from '../helpers/auth.js';
import { collect, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { __typename
  ... on MessageCompleted { message { status } }
  ... on MessageFailed { code error message { status } } } }`;

/** d_i = allOf [ref d_(i-1), ref d_(i-1)]: 2.3 KB at 28 levels, 2^28 checks of one value. */
function doublingChain(levels: number) {
  const definitions: Record<string, unknown> = { d0: { type: 'object' } };
  for (let i = 1; i <= levels; i++) {
    definitions[`d${i}`] = { allOf: [{ $ref: `#/definitions/d${i - 1}` }, { $ref: `#/definitions/d${i - 1}` }] };
  }
  return { definitions, $ref: `#/definitions/d${levels}` };
}
const HUGE_PATTERN = {
  type: 'object',
  properties: { s: { type: 'string', pattern: '[\\s\\S]{1000}'.repeat(30) } },
};
const TREE = {
  type: 'object',
  properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
};

describe('a client’s JSON Schema with unbounded checking cost', () => {
  let server: TestServer;
  let openai: FakeServer;
  let alice: Caller & { secret: string };

  beforeAll(async () => {
    openai = await startOpenAIFake();
    server = await startTestServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL });
    alice = await keyCaller(server.app.database.prisma, 'alice-schema-budget');
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
  });

  const generations = () => openai.requests.filter((r) => r.method === 'POST').length;
  const stored = async () => ({
    conversations: await server.app.database.prisma.conversation.count({ where: { userId: alice.userId } }),
    calls: generations(),
  });

  async function send(input: Record<string, unknown>) {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: alice.authorization },
      body: JSON.stringify({ query: SEND, variables: { input: { content: 'Hi', model: 'gpt-4o-mini', ...input } } }),
    });
    return (await response.json()) as {
      data?: unknown;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
  }

  it.each([
    ['an allOf chain doubling 28 times', doublingChain(28)],
    ['a pattern of [\\s\\S]{1000} × 30', HUGE_PATTERN],
    ['{"$ref": "#"}', { $ref: '#' }],
  ])('GraphQL: refuses %s as responseFormat.schema, BAD_USER_INPUT, nothing stored or sent', async (_, schema) => {
    const before = await stored();
    const body = await send({ responseFormat: { type: 'JSON_SCHEMA', name: 'out', schema } });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'responseFormat.schema' });
    expect(body.errors?.[0]?.message).toMatch(/too costly to check/);
    expect(await stored()).toEqual(before);
  });

  it('GraphQL: refuses the same in a tool’s parameters', async () => {
    const before = await stored();
    const body = await send({ tools: [{ name: 'lookup', parameters: doublingChain(30) }] });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tools[0].parameters' });
    expect(await stored()).toEqual(before);
  });

  it('REST (openai SDK): 400 invalid_request_error for a stored call and a plain one, nothing stored or sent', async () => {
    const client = new OpenAI({ apiKey: alice.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
    const before = await stored();
    const stateful = client.chat.completions.create(
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hi' }],
        response_format: { type: 'json_schema', json_schema: { name: 'out', schema: doublingChain(30) } },
      },
      { headers: { 'x-switchyard-conversation': 'new' } },
    );
    await expect(stateful).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'response_format.json_schema.schema',
    });
    const plain = client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: HUGE_PATTERN } }],
    });
    await expect(plain).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect(await stored()).toEqual(before);
  });

  it('REST (Anthropic Messages): 400 invalid_request_error for a tool’s input_schema, nothing stored or sent', async () => {
    const before = await stored();
    const response = await fetch(`${server.origin}/v1/messages`, {
      method: 'POST',
      // Not stored: the parser refuses it before the call would go upstream unchecked.
      headers: { 'content-type': 'application/json', authorization: alice.authorization },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ name: 'lookup', input_schema: { type: 'object', ...doublingChain(30) } }],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/too costly to check/) },
    });
    expect(await stored()).toEqual(before);
  });

  it('a recursive schema still works, and a reply 20,000 levels deep fails INVALID_OUTPUT', async () => {
    const chat = async (reply: string) => {
      openai.setReply([reply]);
      const client = wsClient(server.wsUrl, { authorization: alice.authorization });
      try {
        const input = {
          content: 'A tree?',
          model: 'gpt-4o-mini',
          responseFormat: { type: 'JSON_SCHEMA', name: 'tree', schema: TREE },
        };
        return (await collect<Record<string, unknown>>(client, CHAT, { input }, 'chat').done).at(-1);
      } finally {
        await client.dispose();
      }
    };
    expect(await chat(JSON.stringify({ name: 'a', children: [{ name: 'b', children: [] }] }))).toMatchObject({
      __typename: 'MessageCompleted',
      message: { status: 'COMPLETE' },
    });
    const deep = `${'{"children":['.repeat(20_000)}{}${']}'.repeat(20_000)}`;
    expect(await chat(deep)).toMatchObject({
      __typename: 'MessageFailed',
      code: 'INVALID_OUTPUT',
      error: expect.stringMatching(/nested deeper than 64 levels/),
      message: { status: 'FAILED' },
    });
  });
});
