import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import {
  type Caller,
  JWT_AUDIENCE,
  JWT_ISSUER,
  type Jwks,
  jwksEnv,
  keyCaller,
  type Outcome,
  overHttp,
  overSse,
  overWebSocket,
  signedInClient,
  startJwks,
} from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue #15, credentials: what is refused (expired keys, JWTs that do not verify, malformed
 * headers) on every transport, without echoing the token; how often a key's use is written;
 * and revocation reaching open sockets, on one instance and across two sharing Redis.
 */

const QUERY = { query: '{ conversations(first: 1) { edges { node { id } } } }' };
const SUBSCRIPTION = {
  query: 'subscription { chat(input: { content: "hello" }) { __typename } }',
};
/** How long the authenticator trusts a cached key row (KEY_CACHE_MS in src/policy/authenticator.ts). */
const KEY_CACHE_MS = 30_000;
/** A revoked key's socket must close long before its cached row could expire by itself. */
const REVOCATION_DEADLINE_MS = KEY_CACHE_MS / 3;

/** The close a graphql-ws socket signed in as `authorization` gets (4403 for a refused sign-in). */
async function socketRefusal(url: string, authorization: string | undefined) {
  const client = signedInClient(url, authorization);
  try {
    return await new Promise<{ code: number; reason: string }>((resolve, reject) => {
      client.subscribe(QUERY, {
        next: () => reject(new Error('the socket answered: it was not refused')),
        error: (error) => {
          const close = error as { code?: number; reason?: string };
          if (typeof close.code === 'number') resolve({ code: close.code, reason: close.reason ?? '' });
          else reject(error);
        },
        complete: () => reject(new Error('the operation completed: it was not refused')),
      });
    });
  } finally {
    await client.dispose();
  }
}

/** Signs a socket in as `caller`: `accepted`, or the close that refused it. */
async function socketOutcome(server: TestServer, caller: Caller) {
  const socket = await openSocket(server, caller);
  const closed = socket.closed();
  await socket.dispose();
  return closed ? { code: closed.code } : 'accepted';
}

/** A socket signed in as `caller`, kept open, and when (and how) it closed. */
async function openSocket(server: TestServer, caller: Caller) {
  let connected!: () => void;
  // Resolves when signed in, or when refused (closed) instead: it never waits forever.
  const ready = new Promise<void>((resolve) => {
    connected = resolve;
  });
  let closed: { code: number; reason: string; at: number } | undefined;
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: caller.authorization },
    on: {
      connected: () => connected(),
      closed: (event) => {
        const close = event as { code: number; reason: string };
        closed = { code: close.code, reason: close.reason, at: performance.now() };
        connected();
      },
    },
    onNonLazyError: () => {},
  });
  await ready;
  return {
    closed: () => closed,
    dispose: () => client.dispose(),
  };
}

const codes = (outcome: Outcome) => outcome.errors?.map((e) => e.extensions?.code);

/** Every 16 characters in a row of the header's credential: an echo of any part of it shows one. */
const pieces = (authorization: string) => {
  const credential = authorization.replace(/^(Bearer|Basic)\b\s*/i, '');
  return Array.from({ length: Math.max(0, credential.length - 15) }, (_, i) => credential.slice(i, i + 16));
};

/** Fails when `text` contains any piece of the credential. */
const expectNoEcho = (text: string, authorization: string, label: string) => {
  const echoed = pieces(authorization).find((piece) => text.includes(piece));
  expect(echoed, `${label}: echoes the credential in ${text}`).toBeUndefined();
};

/** Refused with 401 and UNAUTHENTICATED over HTTP and SSE, 4403 over graphql-ws; the token never echoed. */
async function expectRefusedEverywhere(server: TestServer, authorization: string, message?: RegExp) {
  for (const [transport, run, operation] of [
    ['HTTP', overHttp, QUERY],
    ['SSE', overSse, SUBSCRIPTION],
  ] as const) {
    const outcome = await run(server.url, authorization, operation);
    const label = `${transport} with ${authorization.slice(0, 40)}`;
    expect(outcome.status, label).toBe(401);
    expect(codes(outcome), label).toEqual(['UNAUTHENTICATED']);
    if (message) expect(outcome.errors?.[0]?.message, label).toMatch(message);
    expectNoEcho(JSON.stringify(outcome), authorization, label);
  }
  const close = await socketRefusal(server.url, authorization);
  expect(close.code).toBe(4403);
  // Says what is wrong, as the HTTP answer does (graphql-ws alone would say only "Forbidden").
  expect(close.reason).toMatch(/^Forbidden: \S/);
  if (message) expect(close.reason).toMatch(message);
  expectNoEcho(close.reason, authorization, 'graphql-ws');
}

async function expectAccepted(server: TestServer, authorization: string) {
  expect(codes(await overHttp(server.url, authorization, QUERY))).toBeUndefined();
  expect(codes(await overSse(server.url, authorization, SUBSCRIPTION))).toBeUndefined();
  expect(codes(await overWebSocket(server.url, authorization, QUERY))).toBeUndefined();
}

const ADMIN_KEY = 'an-admin-key-for-the-credentials-tests-0123';

/** Revokes a key the way an administrator does: `revokeApiKey`, with the admin key. */
async function revoke(server: TestServer, apiKeyId: string) {
  const outcome = await overHttp(server.url, `Bearer ${ADMIN_KEY}`, {
    query: 'mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }',
    variables: { id: encodeGlobalId('ApiKey', apiKeyId) },
  });
  expect(outcome.errors).toBeUndefined();
}

describe('credentials (issue #15)', () => {
  let jwks: Jwks;
  let server: TestServer;

  beforeAll(async () => {
    jwks = await startJwks();
    server = await startTestServer({ ...jwksEnv(jwks), SWITCHYARD_ADMIN_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await server?.close();
    await jwks?.close();
  });

  const db = () => server.app.database.prisma;

  it('a key and a JWT that verify are accepted on every transport (the control)', async () => {
    const caller = await keyCaller(db(), 'valid-key-user');
    await expectAccepted(server, caller.authorization);
    await expectAccepted(server, `Bearer ${await jwks.sign('valid-jwt-user')}`);
  });

  it('an expired key is refused on HTTP, SSE and graphql-ws', async () => {
    // Made valid (a key cannot be created expired), then expired in the database before its first use.
    const caller = await keyCaller(db(), 'expired-key-user', { expiresAt: new Date(Date.now() + 3_600_000) });
    await db().apiKey.update({ where: { id: caller.apiKeyId }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    await expectRefusedEverywhere(server, caller.authorization, /expired/);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const JWTS: [string, () => Promise<string>, RegExp][] = [
    ['a wrong audience', () => jwks.sign('jwt-user', {}, { audience: 'someone-else' }), /"aud" claim/],
    ['a wrong issuer', () => jwks.sign('jwt-user', {}, { issuer: 'https://evil.example' }), /"iss" claim/],
    ['an expired exp', () => jwks.sign('jwt-user', {}, { expiresAt: now() - 600 }), /expired/],
    ['no exp', () => jwks.sign('jwt-user', {}, { expiresAt: null }), /no "exp" claim, which is required/],
    ['a bad signature', () => jwks.sign('jwt-user', {}, { foreignKey: true }), /signature/],
    [
      'alg none',
      async () => {
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const claims = { sub: 'jwt-user', iss: JWT_ISSUER, aud: JWT_AUDIENCE, exp: now() + 600 };
        return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
      },
      /not valid|algorithm/,
    ],
  ];

  it.each(JWTS)('a JWT with %s is refused without echoing it', async (_name, token, message) => {
    await expectRefusedEverywhere(server, `Bearer ${await token()}`, message);
  });

  it('a JWT sent to a server with no JWT sign-in configured is refused', async () => {
    const plain = await startTestServer({ SWITCHYARD_ADMIN_KEY: 'an-admin-key-that-is-long-enough-for-the-rule' });
    await expectRefusedEverywhere(plain, `Bearer ${await jwks.sign('jwt-user')}`, /not configured/);
  });

  it.each([
    ['Basic credentials', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['"Bearer" with nothing after it', 'Bearer'],
    ['two words after Bearer', 'Bearer one two'],
    ['a key-shaped value that is no key', `Bearer sk-sy-${'A'.repeat(40)}`],
  ])('a malformed Authorization header (%s) is refused', async (_name, authorization) => {
    await expectRefusedEverywhere(server, authorization);
  });

  it('a 100 KB Authorization value is refused before it is looked at', async () => {
    const huge = `Bearer ${'a'.repeat(50_000)}.${'b'.repeat(50_000)}.c`;
    // Node refuses a header block this big itself (431), before the request reaches the server's code.
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: huge },
      body: JSON.stringify(QUERY),
    });
    expect(response.status).toBe(431);
    // A socket's connection_init may carry it (its payload limit is 1 MiB): refused by its length.
    expect((await socketRefusal(server.url, huge)).code).toBe(4403);
    // Not counted as a use of anything, and no user appeared for it.
    expect(await db().user.count({ where: { authSubject: { contains: 'aaaa' } } })).toBe(0);
  });

  it('a key used again within a minute has its last use written once', async () => {
    const caller = await keyCaller(db(), 'twice-user');
    const lastUsed = () =>
      db()
        .apiKey.findUniqueOrThrow({ where: { id: caller.apiKeyId } })
        .then((k) => k.lastUsedAt);
    expect(await lastUsed()).toBeNull();
    expect(codes(await overHttp(server.url, caller.authorization, QUERY))).toBeUndefined();
    const first = await eventually(lastUsed, (at) => at !== null, { what: 'the first use written' });
    for (let i = 0; i < 3; i++) {
      expect(codes(await overHttp(server.url, caller.authorization, QUERY))).toBeUndefined();
    }
    // The embedded database runs one statement at a time, in order: a write the requests
    // above had started would be done before this read.
    expect(await lastUsed()).toEqual(first);
  });

  it('a socket signed in with a key or a JWT that expires while it is open is closed with 4403', async () => {
    const soon = Date.now() + 5_000;
    const key = await keyCaller(db(), 'expiring-key-user', { expiresAt: new Date(soon) });
    const jwt: Caller = {
      name: 'expiring-jwt-user',
      userId: '',
      authorization: `Bearer ${await jwks.sign('expiring-jwt-user', {}, { expiresAt: Math.ceil(soon / 1000) })}`,
    };
    const sockets = await Promise.all([openSocket(server, key), openSocket(server, jwt)]);
    try {
      for (const socket of sockets) {
        const closed = await eventually(socket.closed, (c) => c !== undefined, { what: 'the socket closed at expiry' });
        // (On a machine so slow that the sign-in came after the expiry, the refusal is 4403 too.)
        expect(closed?.code).toBe(4403);
      }
      await expectRefusedEverywhere(server, key.authorization, /expired/);
    } finally {
      await Promise.all(sockets.map((s) => s.dispose()));
    }
  });

  it('a revoked key is refused on a new request, and its open socket is closed with 4403', async () => {
    const caller = await keyCaller(db(), 'revoked-user');
    // In use: its row is cached, so what follows relies on the announcement, not on a new lookup.
    expect(codes(await overHttp(server.url, caller.authorization, QUERY))).toBeUndefined();
    const socket = await openSocket(server, caller);
    try {
      const revokedAt = performance.now();
      await revoke(server, caller.apiKeyId);
      const closed = await eventually(socket.closed, (c) => c !== undefined, {
        what: 'the socket closed',
        timeoutMs: REVOCATION_DEADLINE_MS,
        everyMs: 5,
      });
      expect(closed?.code).toBe(4403);
      console.info(`revocation closed the socket after ${((closed?.at ?? 0) - revokedAt).toFixed(1)} ms`);
      await expectRefusedEverywhere(server, caller.authorization, /revoked/);
    } finally {
      await socket.dispose();
    }
  });
});

describe.skipIf(!postgresUrl || !redisUrl)('revocation across two instances sharing Postgres and Redis', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
    const env = { DATABASE_URL: scratch.url, REDIS_URL: redisUrl as string, SWITCHYARD_ADMIN_KEY: ADMIN_KEY };
    // One at a time: both would migrate the empty database at once otherwise (they take a lock; still slower).
    a = await startTestServer(env);
    b = await startTestServer(env);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await scratch?.drop();
  });

  it('a key revoked on A is refused on B at once and its sockets on both are closed with 4403', async () => {
    const caller = await keyCaller(a.app.database.prisma, 'revoked-twice');
    for (const server of [a, b]) {
      expect(codes(await overHttp(server.url, caller.authorization, QUERY))).toBeUndefined();
    }
    const sockets = await Promise.all([openSocket(a, caller), openSocket(b, caller)]);
    try {
      const revokedAt = performance.now();
      await revoke(a, caller.apiKeyId);
      const closes = await Promise.all(
        sockets.map((socket, i) =>
          eventually(socket.closed, (c) => c !== undefined, {
            what: `the socket on ${i === 0 ? 'A' : 'B'} closed`,
            timeoutMs: REVOCATION_DEADLINE_MS,
            everyMs: 5,
          }),
        ),
      );
      closes.forEach((close, i) => {
        expect(close?.code).toBe(4403);
        console.info(
          `revocation on A closed the socket on ${i === 0 ? 'A' : 'B'} after ${((close?.at ?? 0) - revokedAt).toFixed(1)} ms`,
        );
      });
      // B had the key cached as valid: the announcement, not a lookup, refuses it now.
      for (const server of [b, a]) await expectRefusedEverywhere(server, caller.authorization, /revoked/);
    } finally {
      await Promise.all(sockets.map((s) => s.dispose()));
    }
  });

  it('a revocation heard while a sign-in is still reading the key row wins over that row', async () => {
    const caller = await keyCaller(a.app.database.prisma, 'revoked-mid-lookup');
    let stopListening = () => {};
    const heard = new Promise<void>((resolve) => {
      const stop = b.app.auth.onRevoked((id) => {
        if (id === caller.apiKeyId) resolve();
      });
      stopListening = () => void stop();
    });
    // Holds B's first lookups of the key: they read the row as it was, unrevoked, after the announcement.
    const lock = new pg.Client({ connectionString: scratch.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE "api_keys" IN ACCESS EXCLUSIVE MODE');
      const request = overHttp(b.url, caller.authorization, QUERY);
      const socket = socketOutcome(b, caller);
      await eventually(
        async () =>
          (
            await lock.query<{ waiting: number }>(
              `SELECT count(*)::int AS waiting FROM pg_locks WHERE NOT granted AND relation = 'api_keys'::regclass`,
            )
          ).rows[0]?.waiting,
        (waiting) => waiting === 2,
        { what: "B's two lookups of the key waiting" },
      );
      await a.app.services.auth.announceRevoked(caller.apiKeyId);
      await heard;
      await lock.query('ROLLBACK');
      const answered = await request;
      expect(answered.status).toBe(401);
      expect(codes(answered)).toEqual(['UNAUTHENTICATED']);
      expect(await socket).toMatchObject({ code: 4403 });
      // And not cached as valid afterwards either.
      expect((await overHttp(b.url, caller.authorization, QUERY)).status).toBe(401);
    } finally {
      stopListening();
      await lock.query('ROLLBACK').catch(() => {});
      await lock.end();
    }
  });
});
