import type { Db } from '../db/database.js';
import { AppError, badInput, notFound } from '../errors.js';
import type { ApiKey, User } from '../generated/prisma/client.js';
import { checkName, checkNewApiKey, insertApiKey } from './api-keys.js';
import type { Authenticator } from './authenticator.js';
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
}

/** Users and keys as the viewer may see and change them; every other user's id is NOT_FOUND. */
export interface IdentityService {
  /** A new user (ADMIN only: the schema checks the scope). */
  createUser(name: string): Promise<User>;
  /** A key for the viewer, or with ADMIN for anyone; a key never grants more than the one that made it. */
  createApiKey(viewer: Viewer, request: CreateApiKeyRequest): Promise<{ apiKey: ApiKey; secret: string }>;
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
    async createUser(name) {
      checkName(name, 'user');
      const trimmed = name.trim();
      // The key command finds users by name (`--user NAME`): two of one name would make it ambiguous.
      if (await db.user.findFirst({ where: { name: trimmed }, select: { id: true } })) {
        throw badInput(`a user named "${trimmed}" exists already`);
      }
      return db.user.create({ data: { name: trimmed } });
    },

    async createApiKey(viewer, request) {
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
      };
      checkNewApiKey(wanted);
      const userId = await reachableUser(viewer, request.userId);
      const limited = hasScope(viewer, 'ADMIN') ? wanted : withinViewer(viewer, wanted);
      return insertApiKey(db, { ...limited, userId });
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
