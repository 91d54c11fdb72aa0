import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type AuthSettings, isLoopbackHost } from '../config/auth-settings.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { PubSub } from '../pubsub/pubsub.js';
import { hashSecret, isApiKeyShaped } from './api-key-secret.js';
import { createJwtVerifier, type JwtVerifier, unauthenticated } from './jwt.js';
import { API_SCOPES, toScopes } from './scopes.js';
import { rememberVerified } from './verified-jwts.js';
import type { Viewer } from './viewer.js';

/** How long a key's row is trusted in memory; revocations arrive at once through pub/sub anyway. */
const KEY_CACHE_MS = 30_000;
/** A key's last use is written at most this often. */
const TOUCH_EVERY_MS = 60_000;
/** How stale "are there stored keys?" may be while the local default is on (a CLI-made key counts). */
const OPEN_MODE_RECHECK_MS = 1_000;

export interface AuthenticatorDeps {
  db: Db;
  settings: AuthSettings;
  /** Anonymous requests may act as the local default user only when the server listens on loopback. */
  loopbackOnly: boolean;
  /** The local default user (its data stays the admin's). */
  defaultUserId: string;
  pubsub: PubSub;
  logger: Logger;
}

export interface Authenticator {
  /**
   * The viewer for an `Authorization` header value (absent: the local default, when it is on and
   * the request's `Host` names this machine: a rebound DNS name must not reach it).
   */
  authenticate(authorization: string | null | undefined, host?: string | null): Promise<Viewer>;
  /** Whether anonymous requests act as the local default user now (refreshed as keys appear). */
  localDefault(): Promise<boolean>;
  /** Why this server must not start (exposed with no way to sign in), or undefined. */
  refusal(): Promise<string | undefined>;
  /** Tells every instance the key is revoked. */
  announceRevoked(apiKeyId: string): Promise<void>;
  /** Called on this instance when any instance revokes a key. */
  onRevoked(listener: (apiKeyId: string) => void): () => void;
  close(): void;
}

interface CachedKey {
  viewer: Viewer;
  revoked: boolean;
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { db, settings, logger } = deps;
  const adminHash = settings.adminKey ? sha256(settings.adminKey) : undefined;
  const verifyJwt: JwtVerifier | undefined = settings.jwt
    ? rememberVerified(createJwtVerifier(settings.jwt))
    : undefined;
  const keys = new LRUCache<string, CachedKey>({ max: 10_000, ttl: KEY_CACHE_MS });
  // Revocations heard lately: a lookup that read the row before it was revoked must not cache it as valid.
  const revokedIds = new LRUCache<string, true>({ max: 10_000, ttl: KEY_CACHE_MS });
  const jwtUsers = new LRUCache<string, string>({ max: 10_000, ttl: 10 * 60_000 });
  const touchedAt = new LRUCache<string, number>({ max: 10_000 });
  const listeners = new Set<(apiKeyId: string) => void>();
  let storedKeys: { exist: boolean; checkedAt: number } | undefined;
  let recheck: Promise<boolean> | undefined;
  const closed = new AbortController();

  const adminViewer: Viewer = {
    userId: deps.defaultUserId,
    apiKeyId: null,
    scopes: [...API_SCOPES],
    allowedModels: null,
    via: 'admin-key',
    expiresAt: null,
  };
  const localViewer: Viewer = { ...adminViewer, via: 'local-default' };
  const unscopedLocalViewer: Viewer = { ...localViewer, scopes: [] };

  function checkStoredKeys(): Promise<boolean> {
    if (recheck) return recheck;
    const startedAt = Date.now();
    recheck = db.$queryRaw<{ exist: boolean }[]>`SELECT EXISTS (SELECT 1 FROM "api_keys") AS "exist"`
      .then((rows) => {
        storedKeys = { exist: Boolean(rows[0]?.exist), checkedAt: startedAt };
        return storedKeys.exist;
      })
      .finally(() => {
        recheck = undefined;
      });
    recheck.catch((error: unknown) => logger.warn('could not check for stored API keys', { error }));
    return recheck;
  }

  async function storedKeysExist(): Promise<boolean> {
    // Once a key exists the answer never goes back (revoked keys stay as rows).
    if (storedKeys?.exist) return true;
    const age = storedKeys ? Date.now() - storedKeys.checkedAt : Number.POSITIVE_INFINITY;
    if (age < OPEN_MODE_RECHECK_MS / 2) return false;
    // Checked again half-way, one query at a time, so that under load no request waits for it
    // (at concurrency 100 the query waited for a pool connection, and every request with it).
    const checked = checkStoredKeys();
    return age < OPEN_MODE_RECHECK_MS ? false : checked;
  }

  const configuredCredential = () => Boolean(adminHash || verifyJwt);

  async function localDefault(): Promise<boolean> {
    if (!deps.loopbackOnly || configuredCredential()) return false;
    return !(await storedKeysExist());
  }

  async function byApiKey(secret: string): Promise<Viewer> {
    const hash = hashSecret(secret);
    let cached = keys.get(hash);
    if (!cached) {
      const row = await db.apiKey.findUnique({ where: { hash } });
      if (!row) throw unauthenticated('the API key is not valid');
      cached = {
        revoked: row.revokedAt !== null || revokedIds.has(row.id),
        viewer: {
          userId: row.userId,
          apiKeyId: row.id,
          scopes: toScopes(row.scopes),
          allowedModels: Array.isArray(row.allowedModels) ? row.allowedModels.map(String) : null,
          via: 'api-key',
          expiresAt: row.expiresAt,
        },
      };
      keys.set(hash, cached);
    }
    if (cached.revoked) throw unauthenticated('the API key has been revoked');
    if (cached.viewer.expiresAt && cached.viewer.expiresAt.getTime() <= Date.now()) {
      throw unauthenticated('the API key has expired');
    }
    touch(cached.viewer.apiKeyId as string);
    return cached.viewer;
  }

  function touch(apiKeyId: string) {
    const now = Date.now();
    if (now - (touchedAt.get(apiKeyId) ?? 0) < TOUCH_EVERY_MS) return;
    touchedAt.set(apiKeyId, now);
    // Other instances may have written it moments ago: the WHERE keeps it to once a minute overall.
    db.$executeRaw`
      UPDATE "api_keys" SET "last_used_at" = now()
      WHERE "id" = ${apiKeyId}::uuid AND ("last_used_at" IS NULL OR "last_used_at" < now() - interval '1 minute')`.catch(
      (error: unknown) => logger.warn('could not record a key use', { error }),
    );
  }

  async function byJwt(token: string): Promise<Viewer> {
    if (!verifyJwt) throw unauthenticated('JWT sign-in is not configured on this server; use an API key');
    const identity = await verifyJwt(token);
    let userId = jwtUsers.get(identity.subject);
    if (!userId) {
      // One statement: two instances seeing a new subject at once end with one user.
      const rows = await db.$queryRaw<{ id: string }[]>`
        INSERT INTO "users" ("id", "name", "auth_subject")
        VALUES (gen_random_uuid(), ${identity.displayName}, ${identity.subject})
        ON CONFLICT ("auth_subject") DO UPDATE SET "auth_subject" = EXCLUDED."auth_subject"
        RETURNING "id"::text AS "id"`;
      userId = rows[0]?.id as string;
      jwtUsers.set(identity.subject, userId);
    }
    return {
      userId,
      apiKeyId: null,
      scopes: identity.scopes,
      allowedModels: null,
      via: 'jwt',
      expiresAt: identity.expiresAt,
    };
  }

  function forgetKey(apiKeyId: string) {
    revokedIds.set(apiKeyId, true);
    for (const [hash, entry] of keys.entries()) {
      if (entry.viewer.apiKeyId === apiKeyId) keys.set(hash, { ...entry, revoked: true });
    }
  }

  const revocations = deps.pubsub.subscribe('apiKeyRevoked');
  (async () => {
    for await (const apiKeyId of revocations) {
      forgetKey(apiKeyId);
      for (const listener of listeners) listener(apiKeyId);
    }
  })().catch((error) => {
    if (!closed.signal.aborted) logger.error('revocation listener stopped', { error });
  });

  return {
    async authenticate(authorization, host) {
      const credential = bearer(authorization);
      if (credential === undefined) {
        // Unknown while the database has never answered: only what needs no scope (health, providers).
        const local = await localDefault().catch(() => 'unknown' as const);
        if (local === 'unknown' && isLoopbackHostHeader(host)) return unscopedLocalViewer;
        if (local === true) {
          if (isLoopbackHostHeader(host)) return localViewer;
          throw unauthenticated(
            'without a credential only http://localhost, 127.0.0.1 or [::1] is served; send "Authorization: Bearer <API key or JWT>"',
          );
        }
        throw unauthenticated('sign in: send "Authorization: Bearer <API key or JWT>"');
      }
      if (adminHash && timingSafeEqual(sha256(credential), adminHash)) return adminViewer;
      if (isApiKeyShaped(credential)) return byApiKey(credential);
      if (credential.split('.').length === 3) return byJwt(credential);
      throw unauthenticated('the credential is neither an API key (sk-sy-...) nor a JWT');
    },
    localDefault,
    async refusal() {
      if (deps.loopbackOnly || configuredCredential() || (await storedKeysExist())) return undefined;
      return 'Refusing to listen beyond loopback with no way to sign in: set SWITCHYARD_ADMIN_KEY (or AUTH_JWKS_URL / AUTH_JWT_SECRET), or create a key with: npm run keys -- create --name admin --admin';
    },
    async announceRevoked(apiKeyId) {
      // This instance refuses the key from now on, before the announcement comes back through pub/sub.
      forgetKey(apiKeyId);
      deps.pubsub.publish('apiKeyRevoked', apiKeyId);
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed.abort();
      revocations.return?.();
      listeners.clear();
    },
  };
}

/** The credential of `Authorization: Bearer <credential>`; undefined when there is no header. */
function bearer(authorization: string | null | undefined): string | undefined {
  if (authorization == null || authorization === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <API key or JWT>"');
  return match[1];
}

/** A Host header naming this machine (port aside); absent counts as local (HTTP/1.0, in-process). */
export function isLoopbackHostHeader(host: string | null | undefined): boolean {
  if (host == null || host === '') return true;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return isLoopbackHost(name);
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();
