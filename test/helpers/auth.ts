import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import WebSocket from 'ws';
import type { Db } from '../../src/db/database.js';
import { insertApiKey, userNamed } from '../../src/policy/api-keys.js';
import type { ApiScope } from '../../src/policy/scopes.js';
import { stopWhenDone } from './cleanup.js';

export const JWT_ISSUER = 'https://idp.test.example';
export const JWT_AUDIENCE = 'switchyard-tests';

/** Someone calling the API, with the Authorization header value they send. */
export interface Caller {
  name: string;
  userId: string;
  authorization: string;
}

/** A user (made when absent) with a stored key of its own. */
export async function keyCaller(
  db: Db,
  name: string,
  options: { scopes?: ApiScope[]; expiresAt?: Date | null } = {},
): Promise<Caller & { apiKeyId: string; secret: string }> {
  const user = await userNamed(db, name);
  const { apiKey, secret } = await insertApiKey(db, {
    userId: user.id,
    name: `${name}'s key`,
    scopes: options.scopes ?? ['CHAT', 'DOCUMENTS', 'MEMORY'],
    allowedModels: null,
    expiresAt: options.expiresAt ?? null,
  });
  return { name, userId: user.id, authorization: `Bearer ${secret}`, apiKeyId: apiKey.id, secret };
}

/** An identity provider's key set served over HTTP, and tokens signed with its key. */
export interface Jwks {
  url: string;
  /** A token for `sub`, valid for an hour, issued for this server unless `claims`/`options` say otherwise. */
  sign(sub: string, claims?: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  issuer?: string;
  audience?: string;
  /** Seconds since the epoch; null leaves the claim out. */
  expiresAt?: number | null;
  /** Signs with another key pair that claims this set's key id. */
  foreignKey?: boolean;
}

export async function startJwks(): Promise<Jwks> {
  const kid = 'test-key-1';
  const pair = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  stopWhenDone(async () => {
    if (server.listening) await close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    sign: (sub, claims = {}, options = {}) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(sub)
        .setIssuer(options.issuer ?? JWT_ISSUER)
        .setAudience(options.audience ?? JWT_AUDIENCE)
        .setIssuedAt();
      if (options.expiresAt !== null) jwt.setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600);
      return jwt.sign(options.foreignKey ? foreign.privateKey : pair.privateKey);
    },
    close,
  };
}

/** The server environment that trusts `jwks`. */
export const jwksEnv = (jwks: Jwks) => ({
  AUTH_JWKS_URL: jwks.url,
  AUTH_JWT_ISSUER: JWT_ISSUER,
  AUTH_JWT_AUDIENCE: JWT_AUDIENCE,
});

/** What an operation answered: the (first) result, the HTTP status where there is one. */
export interface Outcome {
  status?: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown; extensions?: Record<string, unknown> }[];
}

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
}

export type TransportName = 'HTTP' | 'SSE' | 'graphql-ws';

/** Runs one operation as `authorization` (none: anonymous) and returns its first result. */
export type Transport = (url: string, authorization: string | undefined, operation: Operation) => Promise<Outcome>;

const headersFor = (authorization: string | undefined, accept: string) => ({
  'content-type': 'application/json',
  accept,
  ...(authorization === undefined ? {} : { authorization }),
});

export const overHttp: Transport = async (url, authorization, operation) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: headersFor(authorization, 'application/graphql-response+json'),
    body: JSON.stringify(operation),
  });
  return { status: response.status, ...((await response.json()) as Outcome) };
};

/** POST with `Accept: text/event-stream`: the first `next` event (the rest is not read). */
export const overSse: Transport = async (url, authorization, operation) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: headersFor(authorization, 'text/event-stream'),
    body: JSON.stringify(operation),
  });
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    return { status: response.status, ...((await response.json()) as Outcome) };
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event stream ended without a result: ${buffered}`);
      buffered += decoder.decode(value, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (block.startsWith('event: complete')) throw new Error('the event stream completed without a result');
        if (block.startsWith('event: next')) {
          return { status: response.status, ...(JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Outcome) };
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
};

/** A graphql-ws client for the server at `url` (http:), signing in with `connectionParams.authorization`. */
export function signedInClient(url: string, authorization: string | undefined) {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: authorization === undefined ? {} : { authorization },
  });
}

/** A graphql-ws socket signed in with `connectionParams.authorization`: the first result or error. */
export const overWebSocket: Transport = (url, authorization, operation) => {
  const client = signedInClient(url, authorization);
  return new Promise<Outcome>((resolve, reject) => {
    const stop = client.subscribe(
      { query: operation.query, variables: operation.variables ?? {} },
      {
        next: (value) => {
          resolve(value as Outcome);
          stop();
        },
        error: (error) => {
          if (Array.isArray(error)) resolve({ errors: error as Outcome['errors'] });
          else reject(error);
        },
        complete: () => reject(new Error('the operation completed without a result')),
      },
    );
  }).finally(() => client.dispose());
};

export const TRANSPORTS: Record<TransportName, Transport> = {
  HTTP: overHttp,
  SSE: overSse,
  'graphql-ws': overWebSocket,
};
