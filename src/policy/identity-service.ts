import type { Db } from '../db/database.js';
import { AppError, badInput, notFound } from '../errors.js';
import type { ApiKey, User } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { PiiMode } from '../privacy/pii-modes.js';
import { checkName, checkNewApiKey, insertApiKey } from './api-keys.js';
import type { Authenticator } from './authenticator.js';
import { checkLimitsInput, LIMIT_NAMES, type Limits, limitsFromJson, limitsToJson, NO_LIMITS } from './limits.js';
import { type ApiScope, DEFAULT_SCOPES, forbidden, toScopes } from './scopes.js';
import { hasScope, type Viewer } from './viewer.js';

/** Far more than the four scopes, so a client repeating one is not refused, yet bounded. */
const MAX_SCOPE_ENTRIES = 16;

export interface CreateApiKeyRequest {
  /** Omitted: the viewer's own user. */
  userId?: string | null;
  name: string;
  /** Omitted: CHAT, DOCUMENTS, MEMORY. */
  scopes?: readonly ApiScope[] | null;
  /** Omitted: every model, or the creating key's own list when it has one. */
  allowedModels?: readonly string[] | null;
  expiresAt?: Date | null;
  /** A client's LimitsInput, checked here. Omitted: the config file's defaults apply to the key. */
  limits?: unknown;
  /** The key's own privacy mode. A key made by a key is bound by its maker's mode too, so it cannot loosen it. */
  piiMode?: PiiMode | null;
}

/** Whose limits `setLimits` changes. */
export interface LimitsTarget {
  kind: 'user' | 'key';
  id: string;
}

/** Users and keys as the viewer may see and change them; every other user's id is NOT_FOUND. */
export interface IdentityService {
  /** A new user (ADMIN only: the schema checks the scope), with its limits (a client's LimitsInput) and privacy mode if given. */
  createUser(name: string, limits?: unknown, piiMode?: PiiMode | null): Promise<User>;
  /**
   * A key for the viewer, or with ADMIN for anyone; a key never grants more than the one that made
   * it, limits included. `defaults`: the config file's limits (UsagePolicy.defaultLimits()), which
   * bind a key without limits of its own.
   */
  createApiKey(
    viewer: Viewer,
    request: CreateApiKeyRequest,
    defaults: Limits | null,
  ): Promise<{ apiKey: ApiKey; secret: string }>;
  /**
   * ADMIN only (the schema checks the scope). Changes the fields `input` names: a number sets that
   * limit, null removes it, an absent field stays as it is; none left stores NULL. One statement,
   * so two changes at once both land. Returns what is stored now. The caller announces the change
   * (UsagePolicy.changed) so that every instance forgets its cached copy.
   */
  setLimits(target: LimitsTarget, input: unknown): Promise<Limits>;
  /**
   * ADMIN only (the schema checks the scope). Sets a user's or key's privacy mode; null removes it.
   * The caller announces the change as for limits.
   */
  setPiiMode(target: LimitsTarget, mode: PiiMode | null): Promise<PiiMode | null>;
  /** Revokes the viewer's key (with ADMIN any key) on every instance; revoking twice changes nothing. */
  revokeApiKey(viewer: Viewer, apiKeyId: string): Promise<ApiKey>;
  /** Whose keys `apiKeys` lists: the viewer's own, or with ADMIN the named user's. */
  keyOwner(viewer: Viewer, userId?: string | null): Promise<string>;
}

export interface IdentityServiceDeps {
  db: Db;
  auth: Pick<Authenticator, 'announceRevoked'>;
}

export function createIdentityService({ db, auth }: IdentityServiceDeps): IdentityService {
  /** The user an operation names, as the viewer may name it: another user only with ADMIN. */
  async function reachableUser(viewer: Viewer, userId: string | null | undefined): Promise<string> {
    if (userId == null || userId === viewer.userId) return viewer.userId;
    if (!hasScope(viewer, 'ADMIN')) throw notFound('User', userId);
    const user = await db.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw notFound('User', userId);
    return user.id;
  }

  return {
    async createUser(name, limitsInput, piiMode) {
      checkName(name, 'user');
      const limits = limitsToJson(checkLimitsInput(limitsInput));
      const trimmed = name.trim();
      // The key command finds users by name (`--user NAME`): two of one name would make it ambiguous.
      if (await db.user.findFirst({ where: { name: trimmed }, select: { id: true } })) {
        throw badInput(`a user named "${trimmed}" exists already`);
      }
      return db.user.create({ data: { name: trimmed, limits: limits ?? undefined, piiMode: piiMode ?? undefined } });
    },

    async createApiKey(viewer, request, defaults) {
      if (request.scopes && request.scopes.length > MAX_SCOPE_ENTRIES) {
        throw badInput(`scopes takes at most ${MAX_SCOPE_ENTRIES} entries`, { max: MAX_SCOPE_ENTRIES });
      }
      const scopes = request.scopes ? toScopes(request.scopes) : [...DEFAULT_SCOPES];
      if (scopes.length === 0) throw badInput('a key needs at least one scope');
      const wanted = {
        userId: viewer.userId,
        name: request.name,
        scopes,
        allowedModels: request.allowedModels ?? null,
        expiresAt: request.expiresAt ?? null,
        limits: checkLimitsInput(request.limits),
        piiMode: request.piiMode ?? null,
      };
      checkNewApiKey(wanted);
      const userId = await reachableUser(viewer, request.userId);
      if (hasScope(viewer, 'ADMIN')) return insertApiKey(db, { ...wanted, userId });
      const limited = withinViewer(viewer, wanted);
      withinLimits(await creatorCeiling(viewer, defaults), limitsToJson(limited.limits) ? limited.limits : defaults);
      // Its requests count against the maker's limits too: making keys does not multiply them.
      return insertApiKey(db, { ...limited, userId, parentKeyId: viewer.apiKeyId });
    },

    async setLimits(target, input) {
      const checked = checkLimitsInput(input);
      const given = (input ?? {}) as Record<string, unknown>;
      // Only the fields the client sent: a value sets, null removes (jsonb_strip_nulls drops it).
      const patch = Object.fromEntries(
        LIMIT_NAMES.filter((name) => given[name] !== undefined).map((name) => [name, checked[name]]),
      );
      const table = target.kind === 'key' ? Prisma.raw('"api_keys"') : Prisma.raw('"users"');
      const rows = await db.$queryRaw<{ limits: string | null }[]>(Prisma.sql`
        UPDATE ${table}
        SET "limits" = NULLIF(jsonb_strip_nulls(COALESCE("limits", '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb), '{}'::jsonb)
        WHERE "id" = ${target.id}::uuid
        RETURNING "limits"::text AS "limits"`);
      const row = rows[0];
      if (!row) throw notFound(target.kind === 'key' ? 'ApiKey' : 'User', target.id);
      return limitsFromJson(row.limits === null ? null : JSON.parse(row.limits)) ?? NO_LIMITS;
    },

    async setPiiMode(target, mode) {
      const where = { where: { id: target.id }, data: { piiMode: mode } };
      const updated = target.kind === 'key' ? await db.apiKey.updateMany(where) : await db.user.updateMany(where);
      if (updated.count === 0) throw notFound(target.kind === 'key' ? 'ApiKey' : 'User', target.id);
      return mode;
    },

    async revokeApiKey(viewer, apiKeyId) {
      const where = hasScope(viewer, 'ADMIN') ? { id: apiKeyId } : { id: apiKeyId, userId: viewer.userId };
      const found = await db.apiKey.findFirst({ where, select: { id: true } });
      if (!found) throw notFound('ApiKey', apiKeyId);
      // The first revocation's time stays.
      await db.apiKey.updateMany({ where: { id: apiKeyId, revokedAt: null }, data: { revokedAt: new Date() } });
      await auth.announceRevoked(apiKeyId);
      return db.apiKey.findUniqueOrThrow({ where: { id: apiKeyId } });
    },

    keyOwner: reachableUser,
  };

  /**
   * The limits that bind the credential making a key but would not, by themselves, bind the new
   * key (usage-policy.ts decides which limits bind whom). A key's own limits, or the defaults when
   * it has none: its user's limits bind the new key too. A JWT session: the defaults, which stand
   * in for its user's limits when the user has none (stored user limits bind every key anyway).
   */
  async function creatorCeiling(viewer: Viewer, defaults: Limits | null): Promise<Limits | null> {
    if (viewer.via === 'api-key' && viewer.apiKeyId) {
      const key = await db.apiKey.findUnique({ where: { id: viewer.apiKeyId }, select: { limits: true } });
      return limitsFromJson(key?.limits) ?? defaults;
    }
    if (viewer.via === 'jwt') {
      const user = await db.user.findUnique({ where: { id: viewer.userId }, select: { limits: true } });
      return limitsFromJson(user?.limits) ? null : defaults;
    }
    return null;
  }
}

/**
 * A key made without ADMIN has every limit its creator has, no higher: otherwise a key limited to
 * 10 requests a minute could make itself an unlimited one. `effective`: the new key's own limits,
 * or the defaults that will bind it when it has none.
 */
function withinLimits(ceiling: Limits | null, effective: Limits | null): void {
  if (!ceiling) return;
  for (const name of LIMIT_NAMES) {
    const max = ceiling[name];
    if (max === null) continue;
    const value = effective?.[name] ?? null;
    if (value === null || value > max) {
      throw new AppError(
        'FORBIDDEN',
        `the credential making this key has limits.${name} ${max}, so the key needs limits.${name} of at most ${max}`,
        { field: name, max },
      );
    }
  }
}

interface KeyGrant {
  scopes: ApiScope[];
  allowedModels: readonly string[] | null;
  expiresAt: Date | null;
}

/**
 * A key made without ADMIN gets at most what the credential making it has: its scopes, its
 * models (inherited when not named), and for a key that expires, no later expiry.
 */
function withinViewer<T extends KeyGrant>(viewer: Viewer, wanted: T): T {
  const missing = wanted.scopes.find((scope) => !hasScope(viewer, scope));
  if (missing) throw forbidden(missing);
  let { allowedModels, expiresAt } = wanted;
  if (viewer.allowedModels) {
    const mine = new Set(viewer.allowedModels);
    const outside = allowedModels?.find((model) => !mine.has(model.trim()));
    if (outside !== undefined) {
      throw new AppError('FORBIDDEN', `this credential may not use "${outside}", so neither may a key it makes`, {
        model: outside,
      });
    }
    allowedModels ??= viewer.allowedModels;
  }
  if (viewer.via === 'api-key' && viewer.expiresAt) {
    if (expiresAt && expiresAt > viewer.expiresAt) {
      throw new AppError('FORBIDDEN', 'a key made by an expiring key cannot outlive it', {
        expiresAt: viewer.expiresAt.toISOString(),
      });
    }
    expiresAt ??= viewer.expiresAt;
  }
  return { ...wanted, allowedModels, expiresAt };
}
