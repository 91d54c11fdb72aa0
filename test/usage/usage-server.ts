import { randomBytes } from 'node:crypto';
import { call, ok, type Reply } from '../auth/identity-client.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

export { call, codeOf, ok, type Reply } from '../auth/identity-client.js';

/** Embedded by default; on Postgres + Redis (a scratch database each) in the services pass. */
export const BACKENDS = [
  { name: 'embedded PGlite', skip: false, shared: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl, shared: true },
];

export const LIMITS_FIELDS = 'requestsPerMinute tokensPerMinute concurrentStreams dailyBudgetUsd monthlyBudgetUsd';

/** A `usage` row as the tests select it (every field). */
export interface UsageRow {
  day: string | null;
  model: string | null;
  provider: string | null;
  apiKey: { id: string } | null;
  user: { id: string } | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
}

export interface LimitsShape {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  concurrentStreams: number | null;
  dailyBudgetUsd: number | null;
  monthlyBudgetUsd: number | null;
}

/** A complete Limits object from the fields that are set. */
export const limits = (set: Partial<LimitsShape>): LimitsShape => ({
  requestsPerMinute: null,
  tokensPerMinute: null,
  concurrentStreams: null,
  dailyBudgetUsd: null,
  monthlyBudgetUsd: null,
  ...set,
});

export interface Member {
  userId: string;
  keyId: string;
  secret: string;
}

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`;

/** Calls on `server` signed in with `secret`. */
const asOn =
  (server: TestServer) =>
  (secret: string) =>
  <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<Reply<T>> =>
    call<T>(server, secret, query, variables);

/**
 * A server with an admin key (so nothing is anonymous), a config file when given, on the
 * backend's database; `env` adds to its environment (provider fakes).
 */
export async function startUsageServer(
  backend: (typeof BACKENDS)[number],
  options: { configFile?: Record<string, unknown>; env?: Record<string, string | undefined> } = {},
) {
  const adminKey = randomBytes(24).toString('hex');
  const scratch = backend.shared && postgresUrl ? await createScratchDatabase(postgresUrl) : undefined;
  const file = options.configFile ? writeConfigFile(options.configFile) : undefined;
  const env = {
    SWITCHYARD_ADMIN_KEY: adminKey,
    ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
    ...(file ? { SWITCHYARD_CONFIG: file.path } : {}),
    ...options.env,
  };
  const server: TestServer = await startTestServer(env);
  const as = asOn(server);
  const admin = as(adminKey);
  return {
    server,
    adminKey,
    admin,
    as,
    /** A new user (made by the admin key) and a key of theirs, each with the given extra input. */
    async userWithKey(name: string, user: Record<string, unknown> = {}, key: Record<string, unknown> = {}) {
      const { createUser } = ok(await admin<{ createUser: { id: string } }>(CREATE_USER, { input: { name, ...user } }));
      const { createApiKey } = ok(
        await admin<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_KEY, {
          input: { userId: createUser.id, name: `${name}'s key`, ...key },
        }),
      );
      return { userId: createUser.id, keyId: createApiKey.apiKey.id, secret: createApiKey.secret } satisfies Member;
    },
    /** Another key of a user, made by the admin key. */
    async keyOf(userId: string, name: string, key: Record<string, unknown> = {}) {
      const { createApiKey } = ok(
        await admin<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_KEY, {
          input: { userId, name, ...key },
        }),
      );
      return { userId, keyId: createApiKey.apiKey.id, secret: createApiKey.secret } satisfies Member;
    },
    /** Another instance on the same database and Redis (shared backends only); stopped with the test. */
    async otherInstance() {
      if (!scratch) throw new Error('a second instance needs the shared backends');
      const other = await startTestServer(env);
      return {
        server: other,
        as: asOn(other),
      };
    },
    async close() {
      await server.close();
      await scratch?.drop();
      file?.cleanup();
    },
  };
}

export type UsageServer = Awaited<ReturnType<typeof startUsageServer>>;
