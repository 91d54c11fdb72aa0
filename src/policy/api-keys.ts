import type { Db } from '../db/database.js';
import { badInput } from '../errors.js';
import type { PiiMode } from '../privacy/pii-modes.js';
import { generateApiKeySecret, hashSecret, shownPrefix } from './api-key-secret.js';
import { type Limits, limitsToJson } from './limits.js';
import type { ApiScope } from './scopes.js';

export const MAX_NAME_LENGTH = 100;
export const MAX_ALLOWED_MODELS = 100;
export const MAX_MODEL_NAME_LENGTH = 200;

export interface NewApiKey {
  userId: string;
  name: string;
  scopes: readonly ApiScope[];
  allowedModels: readonly string[] | null;
  expiresAt: Date | null;
  /** Checked (see checkLimitsInput); none: the config file's defaults apply. */
  limits?: Limits | null;
  /** The key (without ADMIN) making this one: its limits (and privacy mode) bind this key too. */
  parentKeyId?: string | null;
  /** This key's own privacy mode; none: its user's and the config file's apply. */
  piiMode?: PiiMode | null;
}

/** Refuses what a key may not be made of, before anything is written. */
export function checkNewApiKey(input: NewApiKey, now = new Date()): void {
  checkName(input.name, 'key');
  if (input.allowedModels) {
    if (input.allowedModels.length > MAX_ALLOWED_MODELS) {
      throw badInput(`allowedModels takes at most ${MAX_ALLOWED_MODELS} entries`, { max: MAX_ALLOWED_MODELS });
    }
    for (const model of input.allowedModels) {
      if (!model.trim() || model.length > MAX_MODEL_NAME_LENGTH) {
        throw badInput(`each allowedModels entry is 1 to ${MAX_MODEL_NAME_LENGTH} characters`, {
          max: MAX_MODEL_NAME_LENGTH,
        });
      }
    }
  }
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
    throw badInput('expiresAt must be in the future');
  }
}

export function checkName(name: string, what: 'key' | 'user'): void {
  if (!name.trim() || name.length > MAX_NAME_LENGTH) {
    throw badInput(`a ${what} name is 1 to ${MAX_NAME_LENGTH} characters`, { max: MAX_NAME_LENGTH });
  }
}

/** Stores a new key's hash and returns the row with the secret, which exists nowhere else from now on. */
export async function insertApiKey(db: Db, input: NewApiKey) {
  checkNewApiKey(input);
  const secret = generateApiKeySecret();
  const apiKey = await db.apiKey.create({
    data: {
      userId: input.userId,
      name: input.name.trim(),
      prefix: shownPrefix(secret),
      hash: hashSecret(secret),
      scopes: [...input.scopes],
      allowedModels: input.allowedModels ? [...new Set(input.allowedModels.map((m) => m.trim()))] : undefined,
      expiresAt: input.expiresAt,
      limits: (input.limits && limitsToJson(input.limits)) ?? undefined,
      parentKeyId: input.parentKeyId ?? undefined,
      piiMode: input.piiMode ?? undefined,
    },
  });
  return { apiKey, secret };
}

/** The user with this name, created when there is none; several with the name is ambiguous. */
export async function userNamed(db: Db, name: string): Promise<{ id: string; name: string | null }> {
  checkName(name, 'user');
  const found = await db.user.findMany({ where: { name: name.trim() }, take: 2, select: { id: true, name: true } });
  if (found.length > 1) throw badInput(`more than one user is named "${name.trim()}"`);
  return found[0] ?? db.user.create({ data: { name: name.trim() }, select: { id: true, name: true } });
}
