import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import { type Jwks, jwksEnv, startJwks } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import {
  BACKENDS,
  codeOf,
  LIMITS_FIELDS,
  type LimitsShape,
  limits,
  type Member,
  ok,
  startUsageServer,
  type UsageServer,
} from './usage-server.js';

/**
 * Limits through the real server: set when a user or key is made and by setLimits, read back on
 * every path to a user or key, checked, and never loosened by a key without ADMIN.
 */

/** The config file's defaults: they bind every key without limits of its own. */
const DEFAULTS = { requestsPerMinute: 1000, tokensPerMinute: 1_000_000 };

const SET_LIMITS = `mutation($userId: ID, $apiKeyId: ID, $limits: LimitsInput!) {
  setLimits(userId: $userId, apiKeyId: $apiKeyId, limits: $limits) { ${LIMITS_FIELDS} }
}`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id limits { ${LIMITS_FIELDS} } } }
}`;
const NODE_LIMITS = `query($id: ID!) {
  node(id: $id) { ... on ApiKey { limits { ${LIMITS_FIELDS} } } ... on User { limits { ${LIMITS_FIELDS} } } }
}`;

interface NodeLimits {
  node: { limits: LimitsShape | null } | null;
}
interface CreatedKey {
  createApiKey: { secret: string; apiKey: { id: string; limits: LimitsShape | null } };
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`limits on users and keys on ${backend.name}`, () => {
    let jwks: Jwks;
    let usage: UsageServer;
    let alice: Member;
    let bob: Member;

    beforeAll(async () => {
      jwks = await startJwks();
      usage = await startUsageServer(backend, { configFile: { limits: DEFAULTS }, env: jwksEnv(jwks) });
      alice = await usage.userWithKey(
        'alice',
        { limits: { monthlyBudgetUsd: 50 } },
        { limits: { requestsPerMinute: 10, dailyBudgetUsd: 1 } },
      );
      bob = await usage.userWithKey('bob');
    });
    afterAll(async () => {
      await usage?.close();
      await jwks?.close();
    });

    const nodeLimits = async (id: string, as = usage.admin) => ok(await as<NodeLimits>(NODE_LIMITS, { id })).node;

    it('reads limits back through viewer, apiKeys, users and node; none stored is null', async () => {
      const own = ok(
        await usage.as(alice.secret)<{
          viewer: { user: { limits: LimitsShape }; apiKey: { limits: LimitsShape } };
          apiKeys: { edges: { node: { id: string; limits: LimitsShape | null } }[] };
        }>(`{
          viewer { user { limits { ${LIMITS_FIELDS} } } apiKey { limits { ${LIMITS_FIELDS} } } }
          apiKeys { edges { node { id limits { ${LIMITS_FIELDS} } } } }
        }`),
      );
      expect(own.viewer).toEqual({
        user: { limits: limits({ monthlyBudgetUsd: 50 }) },
        apiKey: { limits: limits({ requestsPerMinute: 10, dailyBudgetUsd: 1 }) },
      });
      expect(own.apiKeys.edges.map((edge) => edge.node)).toEqual([
        { id: alice.keyId, limits: limits({ requestsPerMinute: 10, dailyBudgetUsd: 1 }) },
      ]);
      expect(await nodeLimits(alice.keyId, usage.as(alice.secret))).toEqual({
        limits: limits({ requestsPerMinute: 10, dailyBudgetUsd: 1 }),
      });
      // Bob has none: null, not the defaults (the defaults are the config file's, not the key's).
      expect(await nodeLimits(bob.keyId)).toEqual({ limits: null });
      expect(await nodeLimits(bob.userId)).toEqual({ limits: null });
      const users = ok(
        await usage.admin<{ users: { edges: { node: { id: string; limits: LimitsShape | null } }[] } }>(
          `{ users(first: 100) { edges { node { id limits { monthlyBudgetUsd } } } } }`,
        ),
      ).users.edges.map((edge) => edge.node);
      expect(users).toEqual(
        expect.arrayContaining([
          { id: alice.userId, limits: { monthlyBudgetUsd: 50 } },
          { id: bob.userId, limits: null },
        ]),
      );
      // Another user's key stays hidden from a non-admin, limits and all.
      expect(await nodeLimits(alice.keyId, usage.as(bob.secret))).toBeNull();
    });

    it('setLimits sets, changes and removes (null) single limits, keeps absent ones, and stores NULL when none is left', async () => {
      const key = await usage.keyOf(bob.userId, 'changing');
      const set = async (variables: Record<string, unknown>) =>
        ok(await usage.admin<{ setLimits: LimitsShape }>(SET_LIMITS, variables)).setLimits;

      expect(await set({ apiKeyId: key.keyId, limits: { requestsPerMinute: 5, concurrentStreams: 2 } })).toEqual(
        limits({ requestsPerMinute: 5, concurrentStreams: 2 }),
      );
      expect(await set({ apiKeyId: key.keyId, limits: { requestsPerMinute: 7, dailyBudgetUsd: 2.5 } })).toEqual(
        limits({ requestsPerMinute: 7, concurrentStreams: 2, dailyBudgetUsd: 2.5 }),
      );
      expect(await set({ apiKeyId: key.keyId, limits: { concurrentStreams: null } })).toEqual(
        limits({ requestsPerMinute: 7, dailyBudgetUsd: 2.5 }),
      );
      expect(await nodeLimits(key.keyId)).toEqual({ limits: limits({ requestsPerMinute: 7, dailyBudgetUsd: 2.5 }) });

      expect(await set({ apiKeyId: key.keyId, limits: { requestsPerMinute: null, dailyBudgetUsd: null } })).toEqual(
        limits({}),
      );
      expect(await nodeLimits(key.keyId)).toEqual({ limits: null });
      const [row] = await usage.server.app.database.prisma.$queryRaw<{ stored: boolean }[]>`
        SELECT "limits" IS NULL AS "stored" FROM "api_keys" WHERE "name" = 'changing'`;
      expect(row).toEqual({ stored: true });

      // A user's limits likewise.
      expect(await set({ userId: bob.userId, limits: { tokensPerMinute: 5000 } })).toEqual(
        limits({ tokensPerMinute: 5000 }),
      );
      expect(await nodeLimits(bob.userId)).toEqual({ limits: limits({ tokensPerMinute: 5000 }) });
      expect(await set({ userId: bob.userId, limits: { tokensPerMinute: null } })).toEqual(limits({}));
      expect(await nodeLimits(bob.userId)).toEqual({ limits: null });
    });

    it('applies setLimits at once: the key reads its new budget limit on its next request, not after the cache expires', async () => {
      const key = await usage.keyOf(bob.userId, 'budgeted later');
      const budget = async () =>
        ok(await usage.as(key.secret)<{ budget: { dailyLimitUsd: number | null } }>('{ budget { dailyLimitUsd } }'))
          .budget;
      expect(await budget()).toEqual({ dailyLimitUsd: null });
      ok(await usage.admin(SET_LIMITS, { apiKeyId: key.keyId, limits: { dailyBudgetUsd: 3 } }));
      expect(await budget()).toEqual({ dailyLimitUsd: 3 });
    });

    it.skipIf(!backend.shared)(
      'applies setLimits on every instance: another instance drops its cached copy without waiting for it to expire',
      async () => {
        const key = await usage.keyOf(bob.userId, 'seen elsewhere');
        const other = await usage.otherInstance();
        const budget = async () =>
          ok(
            await other.as(key.secret)<{ budget: { monthlyLimitUsd: number | null } }>(
              '{ budget { monthlyLimitUsd } }',
            ),
          ).budget;
        // Read once on the other instance, so that it holds the limits (none) in its cache.
        expect(await budget()).toEqual({ monthlyLimitUsd: null });
        ok(await usage.admin(SET_LIMITS, { apiKeyId: key.keyId, limits: { monthlyBudgetUsd: 7 } }));
        // The cache keeps limits 30 s: seen well before that, the change reached the other instance.
        await eventually(budget, (status) => status.monthlyLimitUsd === 7, {
          what: 'the other instance to read the new limit',
          timeoutMs: 20_000,
        });
        await other.server.close();
      },
    );

    it('keeps setLimits to ADMIN: FORBIDDEN naming the scope, nothing changed', async () => {
      const reply = await usage.as(alice.secret)(SET_LIMITS, {
        apiKeyId: alice.keyId,
        limits: { requestsPerMinute: 1_000_000 },
      });
      expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'ADMIN' });
      expect(await nodeLimits(alice.keyId)).toEqual({ limits: limits({ requestsPerMinute: 10, dailyBudgetUsd: 1 }) });
    });

    it('refuses bad limits with BAD_USER_INPUT naming the field, and ids that are both, neither or missing', async () => {
      const target = { apiKeyId: bob.keyId };
      const cases: [string, Record<string, unknown>, string | undefined][] = [
        ['negative', { ...target, limits: { requestsPerMinute: -1 } }, 'requestsPerMinute'],
        ['too many streams', { ...target, limits: { concurrentStreams: 100_001 } }, 'concurrentStreams'],
        ['a huge budget', { ...target, limits: { dailyBudgetUsd: 1e300 } }, 'dailyBudgetUsd'],
        ['a negative budget', { ...target, limits: { monthlyBudgetUsd: -0.01 } }, 'monthlyBudgetUsd'],
        // GraphQL's own checks: Int is whole and 32-bit, Float finite (JSON's 1e999 parses as Infinity).
        ['fractional', { ...target, limits: { requestsPerMinute: 1.5 } }, undefined],
        ['over Int', { ...target, limits: { tokensPerMinute: 2 ** 31 } }, undefined],
        ['both ids', { userId: bob.userId, apiKeyId: bob.keyId, limits: {} }, 'apiKeyId'],
        ['neither id', { limits: {} }, 'userId'],
        ['a user id as a key id', { apiKeyId: bob.userId, limits: {} }, undefined],
      ];
      for (const [what, variables, field] of cases) {
        const reply = await usage.admin(SET_LIMITS, variables);
        expect({ what, code: codeOf(reply) }).toEqual({ what, code: 'BAD_USER_INPUT' });
        if (field) expect({ what, field: reply.errors?.[0]?.extensions?.field }).toEqual({ what, field });
      }
      const infinity = await fetch(usage.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${usage.adminKey}` },
        body: `{"query": ${JSON.stringify(SET_LIMITS)}, "variables": {"apiKeyId": "${bob.keyId}", "limits": {"dailyBudgetUsd": 1e999}}}`,
      });
      expect((await infinity.json()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      // Written in the query, 1e999 reaches the resolver as Infinity: the check refuses it there.
      const literal = await usage.admin(
        `mutation { setLimits(apiKeyId: "${bob.keyId}", limits: { dailyBudgetUsd: 1e999 }) { dailyBudgetUsd } }`,
      );
      expect(literal.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dailyBudgetUsd' });
      expect(await nodeLimits(bob.keyId)).toEqual({ limits: null });

      const missing = encodeGlobalId('ApiKey', randomUUID());
      const notFound = await usage.admin(SET_LIMITS, { apiKeyId: missing, limits: { requestsPerMinute: 1 } });
      expect(notFound.errors?.[0]).toMatchObject({ message: `ApiKey ${missing} was not found` });
      expect(codeOf(notFound)).toBe('NOT_FOUND');
      const noUser = await usage.admin(SET_LIMITS, { userId: encodeGlobalId('User', randomUUID()), limits: {} });
      expect(codeOf(noUser)).toBe('NOT_FOUND');
    });

    it('refuses bad limits on createUser and createApiKey before anything is written', async () => {
      const prisma = usage.server.app.database.prisma;
      const before = { users: await prisma.user.count(), keys: await prisma.apiKey.count() };
      const user = await usage.admin(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
        input: { name: 'carol', limits: { tokensPerMinute: -5 } },
      });
      expect(user.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tokensPerMinute' });
      const key = await usage.admin(CREATE_KEY, {
        input: { userId: bob.userId, name: 'bad', limits: { dailyBudgetUsd: 2_000_000 } },
      });
      expect(key.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dailyBudgetUsd' });
      expect({ users: await prisma.user.count(), keys: await prisma.apiKey.count() }).toEqual(before);
    });

    it('lets a key without ADMIN make a key only with every limit it has, none higher', async () => {
      const make = (secret: string, name: string, limitsInput?: Record<string, unknown>) =>
        usage.as(secret)<CreatedKey>(CREATE_KEY, { input: { name, ...(limitsInput ? { limits: limitsInput } : {}) } });
      const refused = async (secret: string, limitsInput: Record<string, unknown> | undefined, field: string) => {
        const reply = await make(secret, 'refused', limitsInput);
        expect({ limitsInput, error: reply.errors?.[0]?.extensions }).toEqual({
          limitsInput,
          error: expect.objectContaining({ code: 'FORBIDDEN', field }),
        });
      };
      const before = await usage.server.app.database.prisma.apiKey.count();
      // Alice's key: 10 requests a minute and $1 a day. Without limits, the new key would get the
      // defaults' 1000 requests a minute and no budget at all.
      await refused(alice.secret, undefined, 'requestsPerMinute');
      await refused(alice.secret, { requestsPerMinute: 11, dailyBudgetUsd: 1 }, 'requestsPerMinute');
      await refused(alice.secret, { requestsPerMinute: 10 }, 'dailyBudgetUsd');
      await refused(alice.secret, { requestsPerMinute: 10, dailyBudgetUsd: 1.01 }, 'dailyBudgetUsd');
      // Bob's key has none of its own: the defaults bind it, and so the keys it makes.
      await refused(bob.secret, { requestsPerMinute: 1001, tokensPerMinute: 1 }, 'requestsPerMinute');
      await refused(bob.secret, { requestsPerMinute: 10 }, 'tokensPerMinute');
      expect(await usage.server.app.database.prisma.apiKey.count()).toBe(before);

      const tighter = ok(
        await make(alice.secret, 'tighter', { requestsPerMinute: 10, dailyBudgetUsd: 0.5, concurrentStreams: 1 }),
      ).createApiKey.apiKey;
      expect(tighter.limits).toEqual(limits({ requestsPerMinute: 10, dailyBudgetUsd: 0.5, concurrentStreams: 1 }));
      // What a key made that way may make in turn is bound by its own, tighter limits.
      const grandchild = await usage.as(
        ok(await make(alice.secret, 'parent', { requestsPerMinute: 3, dailyBudgetUsd: 1 })).createApiKey.secret,
      )<CreatedKey>(CREATE_KEY, { input: { name: 'grandchild', limits: { requestsPerMinute: 4, dailyBudgetUsd: 1 } } });
      expect(grandchild.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        field: 'requestsPerMinute',
        max: 3,
      });
      const plain = ok(await make(bob.secret, 'plain')).createApiKey.apiKey;
      expect(plain.limits).toBeNull();
      // ADMIN is bound by nothing.
      const generous = ok(
        await usage.admin<CreatedKey>(CREATE_KEY, {
          input: { userId: alice.userId, name: 'generous', limits: { requestsPerMinute: 100_000 } },
        }),
      ).createApiKey.apiKey;
      expect(generous.limits).toEqual(limits({ requestsPerMinute: 100_000 }));
    });

    it("lets a JWT session make keys within the defaults while its user has no limits; the user's own limits bind its keys anyway", async () => {
      const session = usage.as(await jwks.sign('jwt-dora'));
      const make = (name: string, limitsInput?: Record<string, unknown>) =>
        session<CreatedKey>(CREATE_KEY, { input: { name, ...(limitsInput ? { limits: limitsInput } : {}) } });
      const looser = await make('looser', { requestsPerMinute: 2000, tokensPerMinute: 1 });
      expect(looser.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        field: 'requestsPerMinute',
        max: 1000,
      });
      // No limits of its own: the defaults bind it, as they bind the session.
      expect(ok(await make('defaults')).createApiKey.apiKey.limits).toBeNull();

      const { viewer } = ok(await session<{ viewer: { user: { id: string } } }>('{ viewer { user { id } } }'));
      ok(await usage.admin(SET_LIMITS, { userId: viewer.user.id, limits: { requestsPerMinute: 50 } }));
      const own = ok(await make('own', { requestsPerMinute: 5000 })).createApiKey.apiKey;
      expect(own.limits).toEqual(limits({ requestsPerMinute: 5000 }));
    });
  });
}
