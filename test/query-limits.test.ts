import { getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface Refusal {
  message: string;
  extensions?: { code?: string; limit?: string; max?: number };
}

/** conversation -> messages -> node -> conversation ..., `turns` times: the query that once took 21.5 s. */
function depthBomb(turns: number): string {
  let selection = 'id';
  for (let i = 0; i < turns; i++) selection = `conversation { messages { edges { node { ${selection} } } } }`;
  return `query ($id: ID!) { message(id: $id) { ${selection} } }`;
}
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `h${i}: health { status }`).join(' ')} }`;
const someMessage = { id: encodeGlobalId('Message', '7b0c0f3c-6a0e-4c57-9a4f-1f3b4ad0c001') };

describe('query limits: bad operations are refused before they run, on every transport', () => {
  let server: TestServer;
  let pings = 0;
  beforeAll(async () => {
    server = await startTestServer();
    // count what the health query costs the database
    const { database } = server.app;
    const ping = database.ping.bind(database);
    database.ping = (timeoutMs) => {
      pings++;
      return ping(timeoutMs);
    };
  });
  afterAll(async () => {
    await server?.close();
  });

  const refusals = (body: { errors?: Refusal[] }) => body.errors?.map((e) => e.extensions) ?? [];
  const stillHealthy = async () => {
    expect((await server.query('{ health { database { status } } }')).data).toEqual({
      health: { database: { status: 'ok' } },
    });
  };

  it('refuses a depth bomb with BAD_USER_INPUT naming the limit, and answers the next query', async () => {
    const body = await server.query(depthBomb(25), someMessage);
    expect(body.data).toBeUndefined();
    expect(refusals(body)).toContainEqual({ code: 'BAD_USER_INPUT', limit: 'depth', max: 12 });
    expect(body.errors?.[0]?.message).toMatch(/depth limit of 12 exceeded/);
    await stillHealthy();
  });

  it('lets a query of the deepest real shape through', async () => {
    const body = await server.query(
      `query ($id: ID!) { message(id: $id) { conversation { messages { edges { node {
         citations { chunk { document { title } } } } } } } } }`,
      someMessage,
    );
    expect(body).toEqual({ data: { message: null } });
  });

  it('refuses 10,000 aliases of health while parsing and 16 by the alias limit, without a database ping', async () => {
    pings = 0;
    const bomb = await server.query(aliases(10_000));
    expect(refusals(bomb)).toEqual([{ code: 'BAD_USER_INPUT', limit: 'tokens', max: 2_000 }]);
    const sixteen = await server.query(aliases(16));
    expect(refusals(sixteen)).toEqual([{ code: 'BAD_USER_INPUT', limit: 'aliases', max: 15 }]);
    expect(pings).toBe(0);
  });

  it('answers 15 aliases of health with one database ping between them', async () => {
    pings = 0;
    const body = await server.query<Record<string, { status: string }>>(aliases(15));
    expect(Object.keys(body.data ?? {})).toHaveLength(15);
    expect(pings).toBe(1);
  });

  it('refuses what costs too much and too many directives', async () => {
    const cost = await server.query(
      '{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { content } } } } } } }',
    );
    expect(refusals(cost)).toEqual([{ code: 'BAD_USER_INPUT', limit: 'cost', max: 20_000 }]);
    const directives = await server.query(`{ health { status ${'@include(if: true) '.repeat(51)} } }`);
    expect(refusals(directives)).toContainEqual({ code: 'BAD_USER_INPUT', limit: 'directives', max: 50 });
    await stillHealthy();
  });

  it('refuses a fragment cycle and a fragment that doubles thirty times, and stays healthy', async () => {
    const cycle = await server.query(
      '{ ...A } fragment A on Query { health { status } ...B } fragment B on Query { ...A }',
    );
    expect(cycle.errors?.[0]?.message).toMatch(/Cannot spread fragment "A" within itself/);
    let fragments = 'fragment F0 on Query { health { status } }';
    for (let i = 1; i <= 30; i++) fragments += ` fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`;
    const doubling = await server.query(`{ ...F30 } ${fragments}`);
    expect(refusals(doubling)).toContainEqual({ code: 'BAD_USER_INPUT', limit: 'cost', max: 20_000 });
    await stillHealthy();
  });

  it("passes GraphiQL's introspection query", async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true });
    const body = await server.query<{ __schema: { queryType: { name: string } } }>(query);
    expect(body.errors).toBeUndefined();
    expect(body.data?.__schema.queryType.name).toBe('Query');
  });

  it('refuses the same bombs over graphql-ws, and the socket goes on serving', async () => {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const run = (query: string, variables?: Record<string, unknown>) =>
      new Promise<Refusal[] | { data?: unknown }>((resolve) => {
        client.subscribe({ query, variables }, { next: resolve, error: resolve, complete: () => {} });
      });
    try {
      const depth = (await run(depthBomb(25), someMessage)) as Refusal[];
      expect(depth.map((e) => e.extensions)).toContainEqual({ code: 'BAD_USER_INPUT', limit: 'depth', max: 12 });
      const tokens = (await run(aliases(10_000))) as Refusal[];
      expect(tokens.map((e) => e.extensions?.limit)).toEqual(['tokens']);
      const sixteen = (await run(aliases(16))) as Refusal[];
      expect(sixteen.map((e) => e.extensions?.limit)).toEqual(['aliases']);
      expect(await run('{ health { database { status } } }')).toEqual({
        data: { health: { database: { status: 'ok' } } },
      });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a depth bomb sent for Server-Sent Events', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: depthBomb(25), variables: someMessage }),
    });
    const text = await response.text();
    expect(text).toContain('"code":"BAD_USER_INPUT"');
    expect(text).toContain('"limit":"depth"');
    await stillHealthy();
  });
});
