import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('bad input gets a clear error and the server stays healthy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (body: string) =>
    fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body,
    });

  it('a malformed query is GRAPHQL_PARSE_FAILED', async () => {
    const response = await post(JSON.stringify({ query: '{ conversations { edges ' }));
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(body.errors[0].message).toMatch(/^Syntax Error/);
  });

  it('a body that is not JSON is a 400 with a message', async () => {
    const response = await post('{not json');
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].message).toMatch(/POST body/i);
  });

  it('an unknown field is GRAPHQL_VALIDATION_FAILED and names the field', async () => {
    const result = await server.query('{ conversations { edges { node { colour } } } }');
    expect(result.errors?.[0]).toMatchObject({
      message: 'Cannot query field "colour" on type "Conversation".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it.each([
    ['not base64 at all', '%%%'],
    ['a global id without a uuid', Buffer.from('Conversation:42').toString('base64url')],
    ['an id of another type', encodeGlobalId('Document', '7b0c0f3c-6a0e-4c57-9a4f-1f3b4ad0c001')],
  ])('a bad ID (%s) is BAD_USER_INPUT', async (_label, id) => {
    const result = await server.query('query ($id: ID!) { conversation(id: $id) { id } }', { id });
    expect(result.data).toEqual({ conversation: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toContain(id);
  });

  it('a bad cursor or page size is BAD_USER_INPUT', async () => {
    const cursor = await server.query('{ conversations(first: 2, after: "nonsense") { edges { cursor } } }');
    expect(cursor.errors?.[0]).toMatchObject({
      message: 'Invalid cursor: nonsense',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const size = await server.query('{ conversations(first: -1) { edges { cursor } } }');
    expect(size.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a variable of the wrong type is rejected before execution', async () => {
    const result = await server.query('query ($n: Int) { conversations(first: $n) { edges { cursor } } }', {
      n: 'ten',
    });
    expect(result.errors?.[0]?.message).toMatch(/Variable "\$n" got invalid value "ten"/);
  });

  it('over graphql-ws a malformed operation is an error, not a dropped socket', async () => {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const run = (query: string) =>
        new Promise<unknown>((resolve) => {
          client.subscribe({ query }, { next: resolve, error: resolve, complete: () => {} });
        });
      const parse = (await run('{ health ')) as { message: string }[];
      expect(parse[0]?.message).toMatch(/^Syntax Error/);
      const unknown = (await run('{ nope }')) as { message: string }[];
      expect(unknown[0]?.message).toMatch(/^Cannot query field "nope" on type "Query"/);
      const ok = (await run('{ health { database { status } } }')) as { data: unknown };
      expect(ok.data).toEqual({ health: { database: { status: 'ok' } } });
    } finally {
      await client.dispose();
    }
  });

  it('answers health only on its exact paths, not on a URL that merely ends in one', async () => {
    const live = await fetch(new URL('/health/live', server.url));
    expect(await live.json()).toEqual({ status: 'ok' });
    // A GraphQL GET whose query string ends in the path (unencoded, as clients may send it) is a GraphQL request.
    const url = `${server.url}?query=${encodeURIComponent('{ health { status } }')}&tag=/health/live`;
    const query = await fetch(url, { headers: { accept: 'application/graphql-response+json' } });
    expect(await query.json()).toEqual({ data: { health: { status: 'ok' } } });
    const elsewhere = await fetch(new URL('/somewhere/health/ready', server.url));
    expect(elsewhere.status).toBe(404);
  });

  it('is still healthy after all of that', async () => {
    expect((await fetch(new URL('/health/ready', server.url))).status).toBe(200);
    expect((await server.query('{ health { status } }')).data).toEqual({ health: { status: 'ok' } });
  });
});
