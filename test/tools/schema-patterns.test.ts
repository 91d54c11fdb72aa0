/**
 * A user's JSON Schema over GraphQL may hold a pattern that backtracks catastrophically; the
 * reply is checked against it on the server's event loop, so it must run in linear time: the
 * classic `^(a+)+$` against 40 a's and a "!" (about 2^40 steps for a backtracking engine) answers
 * with the right result, and the server keeps serving.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { collect } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { __typename
  ... on MessageCompleted { message { status content } }
  ... on MessageFailed { code error message { status content } } } }`;
const EVIL = `${'a'.repeat(40)}!`;
const FORMAT = {
  type: 'JSON_SCHEMA',
  name: 'word',
  schema: {
    type: 'object',
    properties: { word: { type: 'string', pattern: '^(a+)+$' } },
    patternProperties: { '^(b+)+$': { type: 'number' } },
    required: ['word'],
  },
};

describe('a JSON Schema pattern over GraphQL', () => {
  let server: TestServer;
  let openai: FakeServer;
  let alice: string;

  beforeAll(async () => {
    openai = await startOpenAIFake();
    server = await startTestServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL });
    alice = (await keyCaller(server.app.database.prisma, 'alice-patterns')).authorization;
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
  });

  async function chat(reply: string, input: Record<string, unknown> = {}) {
    openai.setReply([reply]);
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: alice },
    });
    try {
      const events = await collect<Record<string, unknown>>(
        client,
        CHAT,
        { input: { content: 'A word?', model: 'gpt-4o-mini', responseFormat: FORMAT, ...input } },
        'chat',
      ).done;
      return events.at(-1);
    } finally {
      await client.dispose();
    }
  }

  it('checks `^(a+)+$` against "a"×40 + "!" and fails the reply INVALID_OUTPUT (it completes)', async () => {
    const reply = JSON.stringify({ word: EVIL });
    expect(await chat(reply)).toMatchObject({
      __typename: 'MessageFailed',
      code: 'INVALID_OUTPUT',
      error: expect.stringContaining('must match pattern'),
      message: { status: 'FAILED', content: reply },
    });
  });

  it('does the same for a patternProperties key, and a matching reply is COMPLETE', async () => {
    const key = `${'b'.repeat(40)}!`;
    // the key does not match ^(b+)+$, so its string value is not held to `number`
    expect(await chat(JSON.stringify({ word: 'aaaa', [key]: 'free' }))).toMatchObject({
      __typename: 'MessageCompleted',
      message: { status: 'COMPLETE' },
    });
    expect(await chat(JSON.stringify({ word: 'aaaa', bbbb: 'not a number' }))).toMatchObject({
      __typename: 'MessageFailed',
      code: 'INVALID_OUTPUT',
    });
  });

  it('refuses a pattern the linear engine cannot run (a backreference) as BAD_USER_INPUT before any call', async () => {
    const before = openai.requests.length;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: alice },
      body: JSON.stringify({
        query: `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`,
        variables: {
          input: {
            content: 'A word?',
            model: 'gpt-4o-mini',
            tools: [{ name: 'echo', parameters: { type: 'object', properties: { s: { pattern: '^(a)\\1$' } } } }],
          },
        },
      }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string; field?: string } }[] };
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(openai.requests.length).toBe(before);
  });
});
