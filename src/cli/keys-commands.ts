import type { Db } from '../db/database.js';
import { DEFAULT_USER_ID } from '../db/default-user.js';
import { badInput } from '../errors.js';
import { hashSecret, isApiKeyShaped } from '../policy/api-key-secret.js';
import { insertApiKey, userNamed } from '../policy/api-keys.js';
import { parseGlobalId } from '../schema/global-id.js';
import type { KeysCommand } from './keys-args.js';

/** What a command prints: `stdout` is for scripts (the secret, the list), `stderr` for people. */
export interface KeysOutput {
  stdout: string[];
  stderr: string[];
  /** Set by `revoke`: the key every running instance must forget. */
  revokedId?: string;
}

/** Rows `list` prints at most (a larger store is an admin's job for the GraphQL API). */
const MAX_LISTED = 1_000;

export async function createKey(db: Db, command: Extract<KeysCommand, { kind: 'create' }>): Promise<KeysOutput> {
  const user =
    command.user === undefined
      ? { id: DEFAULT_USER_ID, name: 'the local default user' }
      : await userNamed(db, command.user);
  const { apiKey, secret } = await insertApiKey(db, {
    userId: user.id,
    name: command.name,
    scopes: command.scopes,
    allowedModels: command.allowedModels,
    expiresAt: command.expiresAt,
  });
  return {
    stdout: [secret],
    stderr: [
      `Created key "${apiKey.name}" (${apiKey.prefix}, id ${apiKey.id}) for ${user.name ?? user.id}: scopes ${command.scopes.join(' ')}; models ${command.allowedModels?.join(', ') ?? 'any'}; expires ${command.expiresAt?.toISOString() ?? 'never'}.`,
      'The key above is shown only this once: store it now. Send it as "Authorization: Bearer <key>".',
    ],
  };
}

export async function listKeys(db: Db): Promise<KeysOutput> {
  const keys = await db.apiKey.findMany({
    orderBy: { createdAt: 'asc' },
    take: MAX_LISTED,
    include: { user: { select: { name: true, id: true } } },
  });
  const now = Date.now();
  const rows = keys.map((key) => [
    key.id,
    key.prefix,
    key.name,
    key.user.id === DEFAULT_USER_ID ? '(local default)' : (key.user.name ?? key.user.id),
    key.scopes.join(','),
    Array.isArray(key.allowedModels) ? key.allowedModels.join(',') : 'any',
    key.expiresAt?.toISOString() ?? 'never',
    key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt.getTime() <= now ? 'expired' : 'active',
    key.lastUsedAt?.toISOString() ?? 'never',
  ]);
  const header = ['ID', 'PREFIX', 'NAME', 'USER', 'SCOPES', 'MODELS', 'EXPIRES', 'STATE', 'LAST USED'];
  return {
    stdout: table([header, ...rows]),
    stderr: keys.length === MAX_LISTED ? [`Only the first ${MAX_LISTED} keys are listed.`] : [],
  };
}

export async function revokeKey(db: Db, given: string): Promise<KeysOutput> {
  const key = await findKey(db, given.trim());
  if (key.revokedAt) {
    return {
      stdout: [],
      stderr: [`Key "${key.name}" (${key.prefix}) was already revoked at ${key.revokedAt.toISOString()}.`],
    };
  }
  // Only the first revocation counts: a concurrent one keeps its time.
  await db.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt: new Date() } });
  return { stdout: [], stderr: [`Revoked key "${key.name}" (${key.prefix}, id ${key.id}).`], revokedId: key.id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** By id (as `list` prints it, or GraphQL's global id), by the key itself, or by its shown prefix. */
async function findKey(db: Db, given: string) {
  const id = UUID.test(given) ? given : globalKeyId(given);
  if (id) {
    const key = await db.apiKey.findUnique({ where: { id } });
    if (!key) throw badInput(`no key has the id ${given}`);
    return key;
  }
  if (isApiKeyShaped(given)) {
    const key = await db.apiKey.findUnique({ where: { hash: hashSecret(given) } });
    if (!key) throw badInput('that key is not stored here');
    return key;
  }
  const keys = await db.apiKey.findMany({ where: { prefix: given }, take: 2 });
  if (keys.length > 1) throw badInput(`more than one key has the prefix ${given}: revoke by id (npm run keys -- list)`);
  if (!keys[0]) throw badInput(`no key has the id or prefix ${given} (npm run keys -- list shows them)`);
  return keys[0];
}

/** The database id behind GraphQL's id of an ApiKey, or undefined when `given` is not one. */
function globalKeyId(given: string): string | undefined {
  try {
    return parseGlobalId(given, 'ApiKey');
  } catch {
    return undefined;
  }
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
