import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** A GraphQL reply with the HTTP status it came with. */
export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs an operation, signed in with `credential` as a Bearer token when given. */
export async function call<T = unknown>(
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
  return {
    status: response.status,
    headers: response.headers,
    ...((await response.json()) as Omit<Reply<T>, 'status' | 'headers'>),
  };
}

/** The data of a reply that must have succeeded. */
export function ok<T>(reply: Reply<T>): T {
  expect(reply.errors, JSON.stringify(reply.errors)).toBeUndefined();
  return reply.data as T;
}

export interface KeyShape {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  allowedModels: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  user: { id: string; name: string };
}
export interface Created {
  createApiKey: { secret: string; apiKey: KeyShape };
}
export interface ViewerShape {
  viewer: {
    user: { id: string; name: string };
    apiKey: Omit<KeyShape, 'user' | 'expiresAt' | 'revokedAt'> | null;
    scopes: string[];
  };
}
export interface Revoked {
  revokeApiKey: { id: string; revokedAt: string | null };
}
export interface KeyList {
  apiKeys: { edges: { node: { id: string; name: string; user: { id: string } } }[] };
}

export const codeOf = (reply: Reply) => reply.errors?.[0]?.extensions?.code;

export const VIEWER = `{ viewer { user { id name } apiKey { id name prefix scopes allowedModels } scopes } }`;
export const CREATE_USER = `mutation($name: String!) { createUser(input: { name: $name }) { id name createdAt } }`;
export const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix scopes allowedModels expiresAt revokedAt user { id name } } }
}`;
export const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
export const API_KEYS = `query($userId: ID) { apiKeys(userId: $userId) { edges { node { id name user { id } } } } }`;
export const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { conversation { id } assistantMessage { id } }
}`;

export const BACKENDS = [
  { name: 'embedded PGlite', skip: false, shared: false },
  { name: 'Postgres from DATABASE_URL and Redis from REDIS_URL', skip: !postgresUrl || !redisUrl, shared: true },
];

export interface Member {
  userId: string;
  secret: string;
  keyId: string;
}

/** A server with SWITCHYARD_ADMIN_KEY set (so no local default), on the backend's database. */
export async function startIdentityServer(backend: (typeof BACKENDS)[number]) {
  const adminKey = randomBytes(24).toString('hex');
  const scratch = backend.shared && postgresUrl ? await createScratchDatabase(postgresUrl) : undefined;
  const server: TestServer = await startTestServer({
    SWITCHYARD_ADMIN_KEY: adminKey,
    ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
  });
  const admin = <T = unknown>(query: string, variables?: Record<string, unknown>) =>
    call<T>(server, adminKey, query, variables);
  return {
    server,
    admin,
    /** A new user (made by the admin key) and a key of theirs. */
    async userWithKey(name: string, input: Record<string, unknown> = {}): Promise<Member> {
      const user = ok(await admin<{ createUser: { id: string } }>(CREATE_USER, { name })).createUser;
      const created = ok(
        await admin<Created>(CREATE_KEY, { input: { userId: user.id, name: `${name}'s key`, ...input } }),
      ).createApiKey;
      return { userId: user.id, secret: created.secret, keyId: created.apiKey.id };
    },
    async close() {
      await server.close();
      await scratch?.drop();
    },
  };
}
