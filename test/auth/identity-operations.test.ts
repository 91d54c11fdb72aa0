import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import {
  API_KEYS,
  BACKENDS,
  CREATE_KEY,
  CREATE_USER,
  type Created,
  call,
  codeOf,
  type KeyList,
  type Member,
  ok,
  REVOKE,
  type Revoked,
  startIdentityServer,
  VIEWER,
  type ViewerShape,
} from './identity-client.js';

/** Users and keys through the real server over HTTP (and graphql-ws), signed in with Bearer credentials. */

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`identity operations on ${backend.name}`, () => {
    let started: Awaited<ReturnType<typeof startIdentityServer>>;
    let server: TestServer;
    let admin: (typeof started)['admin'];
    let userWithKey: (typeof started)['userWithKey'];
    let alice: Member;
    let bob: Member;

    beforeAll(async () => {
      started = await startIdentityServer(backend);
      ({ server, admin, userWithKey } = started);
      alice = await userWithKey('alice');
      bob = await userWithKey('bob', { allowedModels: ['mock', 'gpt-4o-mini'] });
    });

    afterAll(() => started?.close());

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
