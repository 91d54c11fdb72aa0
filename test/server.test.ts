import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { createScratchDatabase, postgresUrl, redisUrl } from './helpers/postgres.js';
import { seedConversation, seedOtherUser } from './helpers/seed.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface Backend {
  name: string;
  skip: boolean;
  setup(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded PGlite',
    skip: false,
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-data-'));
      return { env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'Postgres from DATABASE_URL (and Redis from REDIS_URL when set)',
    skip: !postgresUrl,
    async setup() {
      const db = await createScratchDatabase(postgresUrl as string);
      return { env: { DATABASE_URL: db.url, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }, cleanup: db.drop };
    },
  },
];

const CONVERSATION_PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String) {
    conversations(first: $first, after: $after) {
      edges { cursor node { id title model messages(first: 3) { edges { node { role content status usage { totalTokens } } } pageInfo { hasNextPage endCursor } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

for (const backend of backends) {
  describe.skipIf(backend.skip)(`server on ${backend.name}`, () => {
    let server: TestServer;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    let conversationId: string;

    beforeAll(async () => {
      ({ env, cleanup } = await backend.setup());
      server = await startTestServer(env);
      const db = server.app.database.prisma;
      const first = await seedConversation(db, { title: 'first', turns: 3 });
      await seedConversation(db, { title: 'second', turns: 1 });
      const other = await seedOtherUser(db);
      await seedConversation(db, { title: 'not yours', userId: other.id });
      conversationId = encodeGlobalId('Conversation', first.id);
    });

    afterAll(async () => {
      await server?.close();
      await cleanup?.();
    });

    it('answers a query over HTTP, paging with cursors and scoped to the viewer', async () => {
      const page1 = await server.query<{ conversations: Connection<{ title: string }> }>(CONVERSATION_PAGE, {
        first: 1,
      });
      expect(page1.errors).toBeUndefined();
      const conversations = page1.data?.conversations;
      expect(conversations?.edges.map((e) => e.node.title)).toEqual(['second']);
      expect(conversations?.pageInfo.hasNextPage).toBe(true);

      const page2 = await server.query<{ conversations: Connection<ConversationNode> }>(CONVERSATION_PAGE, {
        first: 5,
        after: conversations?.pageInfo.endCursor,
      });
      const titles = page2.data?.conversations.edges.map((e) => e.node.title);
      expect(titles).toEqual(['first']);
      const messages = page2.data?.conversations.edges[0]?.node.messages;
      expect(messages?.edges.map((e) => e.node.content)).toEqual(['question 0', 'answer 0', 'question 1']);
      expect(messages?.edges[1]?.node).toMatchObject({
        role: 'ASSISTANT',
        status: 'COMPLETE',
        usage: { totalTokens: 5 },
      });
      expect(messages?.pageInfo.hasNextPage).toBe(true);
    });

    it('resolves node(id) and conversation(id), and hides other users rows', async () => {
      const result = await server.query<{ node: { __typename: string; title: string }; conversation: { id: string } }>(
        `query ($id: ID!) { node(id: $id) { __typename ... on Conversation { title } } conversation(id: $id) { id } }`,
        { id: conversationId },
      );
      expect(result.data).toEqual({
        node: { __typename: 'Conversation', title: 'first' },
        conversation: { id: conversationId },
      });

      const db = server.app.database.prisma;
      const hidden = await db.conversation.findFirstOrThrow({ where: { title: 'not yours' } });
      const other = await server.query(`query ($id: ID!) { conversation(id: $id) { id } node(id: $id) { id } }`, {
        id: encodeGlobalId('Conversation', hidden.id),
      });
      expect(other).toEqual({ data: { conversation: null, node: null } });
    });

    it('answers the same operations over graphql-ws', async () => {
      const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
      try {
        const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
          let value: Record<string, unknown> = {};
          client.subscribe(
            {
              query: '{ health { status database { status } } conversations(first: 10) { edges { node { title } } } }',
            },
            { next: (v) => (value = v as Record<string, unknown>), error: reject, complete: () => resolve(value) },
          );
        });
        expect(result).toEqual({
          data: {
            health: { status: 'ok', database: { status: 'ok' } },
            conversations: { edges: [{ node: { title: 'second' } }, { node: { title: 'first' } }] },
          },
        });
      } finally {
        await client.dispose();
      }
    });

    it('answers over SSE and through urql like a web app', async () => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: '{ health { database { status } } }' }),
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const body = await response.text();
      expect(body).toContain('event: next');
      expect(body).toContain('"database":{"status":"ok"}');
      expect(body).toContain('event: complete');

      const urql = new Client({ url: server.url, exchanges: [cacheExchange, fetchExchange] });
      const result = await urql.query(gql`{ conversations(first: 1) { edges { node { title } } } }`, {}).toPromise();
      expect(result.error).toBeUndefined();
      expect(result.data.conversations.edges[0].node.title).toBe('second');
    });

    it('reports database health with latency, and Redis when configured', async () => {
      const result = await server.query<{
        health: {
          status: string;
          database: { status: string; latencyMs: number };
          redis: { latencyMs: number } | null;
        };
      }>('{ health { status database { status latencyMs error } redis { status latencyMs } } }');
      expect(result.data?.health).toMatchObject({ status: 'ok', database: { status: 'ok', error: null } });
      expect(result.data?.health.database.latencyMs).toBeGreaterThan(0);
      if (env.REDIS_URL) {
        expect(result.data?.health.redis).toMatchObject({ status: 'ok' });
        expect(result.data?.health.redis?.latencyMs).toBeGreaterThan(0);
      } else {
        expect(result.data?.health.redis).toBeNull();
      }
    });

    it('keeps its data across a restart on the same database', async () => {
      await server.close();
      server = await startTestServer(env);
      const result = await server.query<{ conversations: Connection<{ title: string }> }>(
        '{ conversations(first: 10) { edges { node { title } } } }',
      );
      expect(result.data?.conversations.edges.map((e) => e.node.title)).toEqual(['second', 'first']);
      const migrations = await server.app.database.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM "_prisma_migrations"`;
      expect(migrations[0]?.n).toBe(
        readdirSync(join(import.meta.dirname, '../prisma/migrations')).filter((f) => !f.endsWith('.toml')).length,
      );
    });
  });
}

describe('memory:// data directory', () => {
  it('keeps nothing between runs and leaves no files behind', async () => {
    // A temporary directory of this test's own: other processes on the machine come and go in
    // the shared one, so counting entries there fails whenever something else runs beside us.
    const privateTmp = mkdtempSync(join(tmpdir(), 'switchyard-tmp-'));
    const sharedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    onTestFinished(() => {
      if (sharedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = sharedTmp;
      rmSync(privateTmp, { recursive: true, force: true });
    });
    const socketDirs = () =>
      readdirSync(privateTmp)
        .filter((name) => name.startsWith('switchyard-pg-'))
        .sort();
    const before = socketDirs();
    let server = await startTestServer({ DATA_DIR: 'memory://' });
    expect(socketDirs().length).toBeGreaterThan(0); // the server's files do land here while it runs
    await seedConversation(server.app.database.prisma, { title: 'ephemeral' });
    expect((await server.query('{ conversations { edges { node { title } } } }')).data).toEqual({
      conversations: { edges: [{ node: { title: 'ephemeral' } }] },
    });
    await server.close();
    server = await startTestServer({ DATA_DIR: 'memory://' });
    expect((await server.query('{ conversations { edges { node { title } } } }')).data).toEqual({
      conversations: { edges: [] },
    });
    await server.close();
    expect(socketDirs()).toEqual(before);
  });
});

interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string };
}
interface ConversationNode {
  title: string;
  messages: Connection<{ role: string; content: string; status: string; usage: { totalTokens: number } | null }>;
}
