import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LimitsInput } from '../../src/policy/limits.js';
import { encodeGlobalId, parseGlobalId } from '../../src/schema/global-id.js';
import { call, type Reply } from '../auth/identity-client.js';
import { stopWhenDone } from './cleanup.js';
import { writeConfigFile } from './config-file.js';
import { createScratchDatabase, postgresUrl, redisUrl } from './postgres.js';
import { startTestServer, type TestServer } from './test-server.js';

/**
 * Where the limits suites run: two instances sharing a scratch Postgres and Redis (limits and
 * budgets must hold across them), and one instance on the embedded database without Redis.
 */
export interface LimitsBackend {
  name: string;
  skip: boolean;
  shared: boolean;
  instances: number;
}

export const LIMITS_BACKENDS: LimitsBackend[] = [
  {
    name: 'two instances sharing Postgres and Redis',
    skip: !postgresUrl || !redisUrl,
    shared: true,
    instances: 2,
  },
  { name: 'one instance on the embedded database, without Redis', skip: false, shared: false, instances: 1 },
];

export type { Reply };

/** POSTs an operation to `server`, signed in with `secret` (a Bearer token) when given. */
export const post = <T = Record<string, unknown>>(
  server: TestServer,
  secret: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
) => call<T>(server, secret, query, variables);

/** The data of a reply that must have succeeded. */
export function ok<T>(reply: Reply<T>): T {
  expect(reply.errors, JSON.stringify(reply.errors)).toBeUndefined();
  return reply.data as T;
}

/** A user made by the admin key, and one key of theirs (database ids); `secret` is what the key's caller sends. */
export interface Member {
  userId: string;
  keyId: string;
  secret: string;
}

export interface ClusterOptions {
  /** Extra server environment (MOCK_TOKEN_DELAY_MS, OPENAI_BASE_URL ...). */
  env?: Record<string, string>;
  /** The config file's content (prices, chat settings ...). */
  config?: Record<string, unknown>;
  /** Embedded: keep the database in a directory, so that a restart finds it (default memory://). */
  persistent?: boolean;
}

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`;

/**
 * The servers of one backend with an admin key (so no local default user), a config file, and
 * what tests need around them: members with limits, every server's view of the database, restarts.
 */
export async function startLimitsCluster(backend: LimitsBackend, options: ClusterOptions = {}) {
  const adminKey = randomBytes(24).toString('hex');
  const scratch = backend.shared ? await createScratchDatabase(postgresUrl as string) : undefined;
  const dataDir = !backend.shared && options.persistent ? mkdtempSync(join(tmpdir(), 'switchyard-limits-')) : undefined;
  const file = writeConfigFile(options.config ?? {});
  const env: Record<string, string> = {
    SWITCHYARD_ADMIN_KEY: adminKey,
    SWITCHYARD_CONFIG: file.path,
    MOCK_TOKEN_DELAY_MS: '20',
    ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl as string } : {}),
    ...(dataDir ? { DATA_DIR: dataDir } : {}),
    ...options.env,
  };
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await Promise.all(servers.map((s) => s.close()));
      await scratch?.drop();
      file.cleanup();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    })();
    return closed;
  };
  let servers: TestServer[] = [];
  // The database and files go even when a server fails to start (startTestServer stops the servers).
  stopWhenDone(close);
  const start = () => Promise.all(Array.from({ length: backend.instances }, () => startTestServer(env)));
  servers = await start();

  const cluster = {
    get servers() {
      return servers;
    },
    /** The i-th request's server: requests alternate between the instances. */
    pick(i: number): TestServer {
      return servers[i % servers.length] as TestServer;
    },
    /** The shared database's URL; undefined on the embedded default. */
    databaseUrl: scratch?.url,
    /** The database behind every instance (shared, or the only one's). */
    get db() {
      return (servers[0] as TestServer).app.database.prisma;
    },
    admin<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, i = 0) {
      return post<T>(cluster.pick(i), adminKey, query, variables);
    },
    /** A new user; returns its database id. */
    async user(name: string, limits?: LimitsInput): Promise<string> {
      const input = { name, ...(limits ? { limits } : {}) };
      const { id } = ok(await cluster.admin<{ createUser: { id: string } }>(CREATE_USER, { input })).createUser;
      return parseGlobalId(id, 'User');
    },
    /** A new key of the user `userId` (a database id). */
    async key(userId: string, name: string, limits?: LimitsInput): Promise<Member> {
      const input = { userId: encodeGlobalId('User', userId), name, ...(limits ? { limits } : {}) };
      const created = ok(
        await cluster.admin<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_KEY, { input }),
      ).createApiKey;
      return { userId, keyId: parseGlobalId(created.apiKey.id, 'ApiKey'), secret: created.secret };
    },
    /** A new user (no limits of its own unless given) with one key carrying `keyLimits`. */
    async member(name: string, keyLimits?: LimitsInput, userLimits?: LimitsInput): Promise<Member> {
      return cluster.key(await cluster.user(name, userLimits), `${name}'s key`, keyLimits);
    },
    /**
     * Stops every instance and starts as many new ones on the same database (and Redis). Called
     * in a test, the new ones stop when that test ends.
     */
    async restart() {
      await Promise.all(servers.map((s) => s.close()));
      servers = await start();
    },
    close,
  };
  return cluster;
}

export type LimitsCluster = Awaited<ReturnType<typeof startLimitsCluster>>;
