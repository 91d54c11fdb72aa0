import { createHash, randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/global-id.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** Users, keys and scopes through the real server over HTTP, signed in with Bearer credentials. */

interface Reply<T = unknown> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function call<T = unknown>(
  server: TestServer,
  credential: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Reply<T>> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Reply<T>, 'status'>) };
}

/** The data of a reply that must have succeeded. */
function ok<T>(reply: Reply<T>): T {
  expect(reply.errors, JSON.stringify(reply.errors)).toBeUndefined();
  return reply.data as T;
}

interface KeyShape {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  allowedModels: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  user: { id: string; name: string };
}
interface Created {
  createApiKey: { secret: string; apiKey: KeyShape };
}
interface ViewerShape {
  viewer: {
    user: { id: string; name: string };
    apiKey: Omit<KeyShape, 'user' | 'expiresAt' | 'revokedAt'> | null;
    scopes: string[];
  };
}
interface Revoked {
  revokeApiKey: { id: string; revokedAt: string | null };
}
interface KeyList {
  apiKeys: { edges: { node: { id: string; name: string; user: { id: string } } }[] };
}

const codeOf = (reply: Reply) => reply.errors?.[0]?.extensions?.code;

const VIEWER = `{ viewer { user { id name } apiKey { id name prefix scopes allowedModels } scopes } }`;
const CREATE_USER = `mutation($name: String!) { createUser(input: { name: $name }) { id name createdAt } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix scopes allowedModels expiresAt revokedAt user { id name } } }
}`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const API_KEYS = `query($userId: ID) { apiKeys(userId: $userId) { edges { node { id name user { id } } } } }`;
const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { conversation { id } assistantMessage { id } }
}`;

const backends = [
  { name: 'embedded PGlite', skip: false, shared: false },
  { name: 'Postgres from DATABASE_URL and Redis from REDIS_URL', skip: !postgresUrl || !redisUrl, shared: true },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`identity operations on ${backend.name}`, () => {
    const adminKey = randomBytes(24).toString('hex');
    let server: TestServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    let alice: { userId: string; secret: string; keyId: string };
    let bob: { userId: string; secret: string; keyId: string };

    const admin = <T = unknown>(query: string, variables?: Record<string, unknown>) =>
      call<T>(server, adminKey, query, variables);

    async function userWithKey(name: string, input: Record<string, unknown> = {}) {
      const user = ok(await admin<{ createUser: { id: string } }>(CREATE_USER, { name })).createUser;
      const created = ok(
        await admin<Created>(CREATE_KEY, { input: { userId: user.id, name: `${name}'s key`, ...input } }),
      );
      return {
        userId: user.id as string,
        secret: created.createApiKey.secret as string,
        keyId: created.createApiKey.apiKey.id,
      };
    }

    beforeAll(async () => {
      scratch = backend.shared && postgresUrl ? await createScratchDatabase(postgresUrl) : undefined;
      server = await startTestServer({
        SWITCHYARD_ADMIN_KEY: adminKey,
        ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
      });
      alice = await userWithKey('alice');
      bob = await userWithKey('bob', { allowedModels: ['mock', 'gpt-4o-mini'] });
    });

    afterAll(async () => {
      await server?.close();
      await scratch?.drop();
    });

    it('answers viewer for the admin key: the local user, no stored key, every scope', async () => {
      const { viewer } = ok(await admin<ViewerShape>(VIEWER));
      expect(viewer).toEqual({
        user: { id: encodeGlobalId('User', DEFAULT_USER_ID), name: 'Local user' },
        apiKey: null,
        scopes: ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'],
      });
    });

    it('shows a new key once and stores only its SHA-256; the key then signs in as its user', async () => {
      const created = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'laptop' } }),
      ).createApiKey;
      expect(created.secret).toMatch(/^sk-sy-[0-9A-Za-z]{32,}$/);
      expect(created.apiKey).toMatchObject({
        name: 'laptop',
        prefix: created.secret.slice(0, 12),
        scopes: ['CHAT', 'DOCUMENTS', 'MEMORY'],
        allowedModels: null,
        revokedAt: null,
        user: { id: alice.userId, name: 'alice' },
      });
      const rows = await server.app.database.prisma.$queryRaw<Record<string, unknown>[]>`
        SELECT * FROM "api_keys" WHERE "name" = 'laptop'`;
      expect(rows).toHaveLength(1);
      expect(rows[0]?.hash).toBe(createHash('sha256').update(created.secret).digest('hex'));
      expect(JSON.stringify(rows[0])).not.toContain(created.secret.slice(12));

      const { viewer } = ok(await call<ViewerShape>(server, created.secret, VIEWER));
      expect(viewer).toEqual({
        user: { id: alice.userId, name: 'alice' },
        apiKey: {
          id: created.apiKey.id,
          name: 'laptop',
          prefix: created.apiKey.prefix,
          scopes: ['CHAT', 'DOCUMENTS', 'MEMORY'],
          allowedModels: null,
        },
        scopes: ['CHAT', 'DOCUMENTS', 'MEMORY'],
      });
    });

    it('refuses a revoked key with 401 at once; revoking again keeps the first time', async () => {
      const created = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'short-lived' } }),
      ).createApiKey;
      expect((await call<ViewerShape>(server, created.secret, VIEWER)).status).toBe(200);

      const first = ok(await call<Revoked>(server, alice.secret, REVOKE, { id: created.apiKey.id })).revokeApiKey;
      expect(first).toMatchObject({ id: created.apiKey.id, revokedAt: expect.any(String) });
      const refused = await call<ViewerShape>(server, created.secret, VIEWER);
      expect({ status: refused.status, code: codeOf(refused) }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });

      const again = ok(await call<Revoked>(server, alice.secret, REVOKE, { id: created.apiKey.id })).revokeApiKey;
      expect(again.revokedAt).toBe(first.revokedAt);
    });

    it('closes a WebSocket signed in with a key when revokeApiKey revokes it (4403)', async () => {
      const created = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'socket' } }),
      ).createApiKey;
      let connected!: () => void;
      const isConnected = new Promise<void>((resolve) => {
        connected = resolve;
      });
      const client = createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${created.secret}` },
        on: { connected: () => connected() },
      });
      try {
        const closed = new Promise<unknown>((resolve) => {
          client.subscribe(
            { query: 'subscription { providerHealth { name } }' },
            {
              next: () => {},
              error: resolve,
              complete: () => resolve('completed'),
            },
          );
        });
        await isConnected;
        ok(await call(server, alice.secret, REVOKE, { id: created.apiKey.id }));
        let timer: NodeJS.Timeout | undefined;
        const stillOpen = new Promise((resolve) => {
          timer = setTimeout(() => resolve('still open after 30 s'), 30_000);
        });
        expect(await Promise.race([closed, stillOpen])).toMatchObject({ code: 4403 });
        clearTimeout(timer);
      } finally {
        await client.dispose();
      }
    });

    it('keeps users and other users to ADMIN: FORBIDDEN naming the scope, nothing written', async () => {
      const users = await call(server, alice.secret, '{ users { edges { node { id } } } }');
      expect(users.errors?.[0]).toMatchObject({
        message: 'this needs the ADMIN scope',
        extensions: { code: 'FORBIDDEN', scope: 'ADMIN' },
      });
      const create = await call(server, alice.secret, CREATE_USER, { name: 'mallory' });
      expect(codeOf(create)).toBe('FORBIDDEN');
      const names = ok(
        await admin<{ users: { edges: { node: { name: string } }[] } }>(
          '{ users(first: 100) { edges { node { name } } } }',
        ),
      ).users.edges.map((edge: { node: { name: string } }) => edge.node.name);
      expect(names).toEqual(expect.arrayContaining(['alice', 'bob']));
      expect(names).not.toContain('mallory');
      // The key command finds a user by name, so a second alice would make `--user alice` ambiguous.
      expect(codeOf(await admin(CREATE_USER, { name: 'alice' }))).toBe('BAD_USER_INPUT');
      expect(codeOf(await admin(CREATE_USER, { name: 'x'.repeat(101) }))).toBe('BAD_USER_INPUT');
    });

    it('never lets a key make a key with more scopes, other models or for another user', async () => {
      const before = await server.app.database.prisma.apiKey.count();
      const escalate = await call<Created>(server, alice.secret, CREATE_KEY, {
        input: { name: 'root', scopes: ['ADMIN'] },
      });
      expect(escalate.errors?.[0]).toMatchObject({
        message: 'this needs the ADMIN scope',
        extensions: { code: 'FORBIDDEN', scope: 'ADMIN' },
      });
      const widen = await call<Created>(server, bob.secret, CREATE_KEY, {
        input: { name: 'wide', allowedModels: ['claude-x'] },
      });
      expect(codeOf(widen)).toBe('FORBIDDEN');
      const forBob = await call<Created>(server, alice.secret, CREATE_KEY, {
        input: { name: 'x', userId: bob.userId },
      });
      expect(codeOf(forBob)).toBe('NOT_FOUND');
      expect(await server.app.database.prisma.apiKey.count()).toBe(before);

      const narrower = ok(
        await call<Created>(server, bob.secret, CREATE_KEY, {
          input: { name: 'narrow', allowedModels: ['mock'], scopes: ['CHAT'] },
        }),
      ).createApiKey.apiKey;
      expect(narrower).toMatchObject({ allowedModels: ['mock'], scopes: ['CHAT'] });
      const inherited = ok(await call<Created>(server, bob.secret, CREATE_KEY, { input: { name: 'same' } }))
        .createApiKey.apiKey;
      expect(inherited.allowedModels).toEqual(['mock', 'gpt-4o-mini']);
    });

    it('hides another user and their keys from a non-admin as if they did not exist; ADMIN sees and revokes them', async () => {
      const missingKey = encodeGlobalId('ApiKey', '00000000-0000-4000-8000-0000000000ff');
      const missingUser = encodeGlobalId('User', '00000000-0000-4000-8000-0000000000ff');
      for (const [what, reply] of [
        ['bob keys', await call<KeyList>(server, alice.secret, API_KEYS, { userId: bob.userId })],
        ['no such user keys', await call<KeyList>(server, alice.secret, API_KEYS, { userId: missingUser })],
        ['revoke bob key', await call<Revoked>(server, alice.secret, REVOKE, { id: bob.keyId })],
        ['revoke no such key', await call<Revoked>(server, alice.secret, REVOKE, { id: missingKey })],
      ] as const) {
        expect({ what, code: codeOf(reply) }).toEqual({ what, code: 'NOT_FOUND' });
      }
      const nodes = ok(
        await call(server, alice.secret, 'query($k: ID!, $u: ID!) { k: node(id: $k) { id } u: node(id: $u) { id } }', {
          k: bob.keyId,
          u: bob.userId,
        }),
      );
      expect(nodes).toEqual({ k: null, u: null });
      const own = ok(await call<KeyList>(server, alice.secret, API_KEYS)).apiKeys.edges;
      expect(own.every((edge: { node: { user: { id: string } } }) => edge.node.user.id === alice.userId)).toBe(true);
      expect(own.map((edge: { node: { id: string } }) => edge.node.id)).toContain(alice.keyId);

      const bobs = ok(await admin<KeyList>(API_KEYS, { userId: bob.userId })).apiKeys.edges;
      expect(bobs.map((edge: { node: { id: string } }) => edge.node.id)).toContain(bob.keyId);
      const victim = await userWithKey('carol');
      expect(ok(await admin<Revoked>(REVOKE, { id: victim.keyId })).revokeApiKey.revokedAt).toEqual(expect.any(String));
      expect((await call<ViewerShape>(server, victim.secret, VIEWER)).status).toBe(401);
    });

    it('keeps a made key within its maker: named models a subset, the expiry no later', async () => {
      const widen = await call(server, bob.secret, CREATE_KEY, {
        input: { name: 'wider', allowedModels: ['mock', 'claude-x'] },
      });
      expect(widen.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', model: 'claude-x' } });

      const soon = new Date(Date.now() + 3_600_000);
      const expiring = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, {
          input: { name: 'hour', expiresAt: soon.toISOString() },
        }),
      ).createApiKey;
      const later = new Date(soon.getTime() + 60_000).toISOString();
      const outlive = await call(server, expiring.secret, CREATE_KEY, { input: { name: 'later', expiresAt: later } });
      expect(codeOf(outlive)).toBe('FORBIDDEN');
      const child = ok(await call<Created>(server, expiring.secret, CREATE_KEY, { input: { name: 'child' } }))
        .createApiKey.apiKey;
      expect(new Date(child.expiresAt as string).getTime()).toBe(soon.getTime());
    });

    it('re-embeds memories in reembed only for a credential that also has MEMORY', async () => {
      const documentsOnly = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'docs', scopes: ['DOCUMENTS'] } }),
      ).createApiKey.secret;
      ok(await call(server, alice.secret, 'mutation { remember(input: { content: "likes tea" }) { id } }'));
      const userId = decodeGlobalId(alice.userId).id;
      const db = server.app.database.prisma;
      await db.memory.updateMany({ where: { userId }, data: { embeddingModel: 'an-old-model' } });
      const REEMBED = 'mutation { reembed { memories } }';

      expect(ok(await call<{ reembed: { memories: number } }>(server, documentsOnly, REEMBED)).reembed.memories).toBe(
        0,
      );
      expect(await db.memory.count({ where: { userId, embeddingModel: 'an-old-model' } })).toBeGreaterThan(0);
      const all = ok(await call<{ reembed: { memories: number } }>(server, alice.secret, REEMBED)).reembed.memories;
      expect(all).toBeGreaterThan(0);
      expect(await db.memory.count({ where: { userId, embeddingModel: 'an-old-model' } })).toBe(0);
    });

    it('checks the size and time of what a key is made of', async () => {
      const cases = [
        { name: 'x'.repeat(101) },
        { name: '   ' },
        { name: 'old', expiresAt: new Date(Date.now() - 60_000).toISOString() },
        { name: 'many', allowedModels: Array.from({ length: 101 }, (_, i) => `model-${i}`) },
        { name: 'long', allowedModels: ['m'.repeat(201)] },
      ];
      for (const input of cases) {
        expect({ input: input.name.slice(0, 8), code: codeOf(await admin(CREATE_KEY, { input })) }).toEqual({
          input: input.name.slice(0, 8),
          code: 'BAD_USER_INPUT',
        });
      }
    });

    describe('a key with only CHAT', () => {
      let chatOnly: string;
      let documentId: string;

      beforeAll(async () => {
        chatOnly = ok(
          await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'chat only', scopes: ['CHAT'] } }),
        ).createApiKey.secret;
        documentId = ok(
          await call<{ ingestDocument: { id: string } }>(
            server,
            alice.secret,
            'mutation { ingestDocument(input: { title: "t", content: "hello" }) { id } }',
          ),
        ).ingestDocument.id;
      });

      it('is FORBIDDEN documents, search, memories and node(id) of a document, naming the scope', async () => {
        const missingDocument = encodeGlobalId('Document', '00000000-0000-4000-8000-0000000000ff');
        for (const [query, scope] of [
          ['{ documents { edges { node { id } } } }', 'DOCUMENTS'],
          ['{ search(query: "hello") { score } }', 'DOCUMENTS'],
          ['mutation { reembed { documents } }', 'DOCUMENTS'],
          ['{ memories { edges { node { id } } } }', 'MEMORY'],
          [`{ node(id: "${documentId}") { id } }`, 'DOCUMENTS'],
          // the same answer for a document that does not exist: nothing is told about existence
          [`{ node(id: "${missingDocument}") { id } }`, 'DOCUMENTS'],
        ] as const) {
          const reply = await call(server, chatOnly, query);
          expect({ query, error: reply.errors?.[0] }).toEqual({
            query,
            error: expect.objectContaining({
              message: `this needs the ${scope} scope`,
              extensions: expect.objectContaining({ code: 'FORBIDDEN', scope }),
            }),
          });
        }
      });

      it('chats, but not with useDocuments or useMemory, and writes nothing then', async () => {
        const userId = decodeGlobalId(alice.userId).id;
        const conversations = () => server.app.database.prisma.conversation.count({ where: { userId } });
        const before = await conversations();
        for (const [flag, scope] of [
          ['useDocuments', 'DOCUMENTS'],
          ['useMemory', 'MEMORY'],
        ] as const) {
          const reply = await call(server, chatOnly, SEND, { input: { content: 'hi', model: 'mock', [flag]: true } });
          expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope });
        }
        expect(await conversations()).toBe(before);

        const sent = ok(
          await call<{ sendMessage: { conversation: { id: string } } }>(server, chatOnly, SEND, {
            input: { content: 'hi', model: 'mock' },
          }),
        ).sendMessage;
        const found = ok(
          await call<{ node: unknown }>(server, chatOnly, 'query($id: ID!) { node(id: $id) { id } }', {
            id: sent.conversation.id,
          }),
        );
        expect(found.node).toEqual({ id: sent.conversation.id });
      });

      it('is refused a chat subscription with useDocuments when it starts, over graphql-ws', async () => {
        const client = createClient({
          url: server.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          connectionParams: { authorization: `Bearer ${chatOnly}` },
        });
        try {
          const errors = await new Promise<unknown>((resolve, reject) => {
            client.subscribe(
              { query: 'subscription { chat(input: { content: "hi", useDocuments: true }) { __typename } }' },
              {
                next: (value) => resolve(value.errors),
                error: resolve,
                complete: () => reject(new Error('completed')),
              },
            );
          });
          expect(errors).toEqual([
            expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN', scope: 'DOCUMENTS' }) }),
          ]);
        } finally {
          await client.dispose();
        }
      });
    });
  });
}

describe('the loopback local default', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  it('answers viewer as the local user, makes the first key, then turns itself off', async () => {
    const { viewer } = ok(await call<ViewerShape>(server, undefined, VIEWER));
    expect(viewer).toEqual({
      user: { id: encodeGlobalId('User', DEFAULT_USER_ID), name: 'Local user' },
      apiKey: null,
      scopes: ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'],
    });
    const created = ok(
      await call<Created>(server, undefined, CREATE_KEY, {
        input: { name: 'admin', scopes: ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'] },
      }),
    ).createApiKey;

    const anonymous = await eventually(
      () => call<ViewerShape>(server, undefined, VIEWER),
      (reply) => reply.status === 401,
      { what: 'anonymous requests refused once a key exists' },
    );
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    const signedIn = ok(await call<ViewerShape>(server, created.secret, VIEWER)).viewer;
    expect(signedIn).toMatchObject({
      user: { id: encodeGlobalId('User', DEFAULT_USER_ID) },
      apiKey: { id: created.apiKey.id },
      scopes: ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'],
    });
  });
});
