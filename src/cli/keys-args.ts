import { parseArgs } from 'node:util';
import { badInput } from '../errors.js';
import { MAX_ALLOWED_MODELS } from '../policy/api-keys.js';
import { type ApiScope, DEFAULT_SCOPES, isApiScope } from '../policy/scopes.js';

export const KEYS_USAGE = `Usage: npm run keys -- <command>

  create --name NAME [--admin] [--user NAME] [--scopes CHAT,DOCUMENTS,MEMORY] [--models a,b] [--expires 2027-01-01]
      Prints a new API key on stdout (only this once; details on stderr). Scopes default to
      CHAT,DOCUMENTS,MEMORY; --admin adds ADMIN. Without --user the key acts as the local default
      user, who owns what was made without a key; --user names a user, created when there is none.
  list
      Every stored key: id, prefix, name, user, scopes, models, expiry, state, last use.
  revoke <id | prefix | key>
      Revokes a key (id from list, shown prefix such as sk-sy-AbC123, or the key itself).

Uses the server's settings (DATABASE_URL, or the embedded database in DATA_DIR, default ./.data).`;

export type KeysCommand =
  | { kind: 'help' }
  | {
      kind: 'create';
      name: string;
      user: string | undefined;
      scopes: ApiScope[];
      allowedModels: string[] | null;
      expiresAt: Date | null;
    }
  | { kind: 'list' }
  | { kind: 'revoke'; key: string };

/** The command line is wrong (unknown command or option, a missing value): exit 2 with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An argument no longer than this is accepted (names and models have their own, smaller limits). */
const MAX_ARGUMENT_LENGTH = 10_000;

/**
 * Reads `keys` arguments. A malformed command line is a UsageError; a well-formed one with a
 * value that is not allowed (an unknown scope, a date that is not one) is BAD_USER_INPUT.
 */
export function parseKeysArgs(argv: readonly string[]): KeysCommand {
  if (argv.some((arg) => arg.length > MAX_ARGUMENT_LENGTH)) throw badInput('an argument is too long');
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    if (command === undefined) throw new UsageError('a command is needed');
    return { kind: 'help' };
  }
  const parsed = parse(rest, command === 'create' ? CREATE_OPTIONS : {});
  if (parsed.values.help) return { kind: 'help' };
  switch (command) {
    case 'create':
      return create(parsed.values, parsed.positionals);
    case 'list':
      if (parsed.positionals.length > 0) throw new UsageError(`list takes no argument: ${parsed.positionals[0]}`);
      return { kind: 'list' };
    case 'revoke': {
      const [key, extra] = parsed.positionals;
      if (key === undefined || extra !== undefined) throw new UsageError('revoke takes one id, prefix or key');
      return { kind: 'revoke', key };
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

const CREATE_OPTIONS = {
  name: { type: 'string' },
  admin: { type: 'boolean' },
  user: { type: 'string' },
  scopes: { type: 'string' },
  models: { type: 'string' },
  expires: { type: 'string' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: typeof CREATE_OPTIONS | Record<string, never>) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function create(values: Values, positionals: string[]): KeysCommand {
  if (positionals.length > 0) throw new UsageError(`create takes options only, not: ${positionals[0]}`);
  const name = values.name;
  if (typeof name !== 'string') throw new UsageError('create needs --name NAME');
  const scopes = values.scopes === undefined ? [...DEFAULT_SCOPES] : scopesFrom(String(values.scopes));
  if (values.admin && !scopes.includes('ADMIN')) scopes.push('ADMIN');
  return {
    kind: 'create',
    name,
    user: typeof values.user === 'string' ? values.user : undefined,
    scopes,
    allowedModels: values.models === undefined ? null : modelsFrom(String(values.models)),
    expiresAt: values.expires === undefined ? null : dateFrom(String(values.expires)),
  };
}

function scopesFrom(list: string): ApiScope[] {
  const scopes: ApiScope[] = [];
  for (const entry of list.split(',')) {
    const scope = entry.trim().toUpperCase();
    if (!isApiScope(scope)) throw badInput(`unknown scope "${entry.trim()}": use CHAT, DOCUMENTS, MEMORY or ADMIN`);
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes;
}

function modelsFrom(list: string): string[] {
  const models = list.split(',').map((model) => model.trim());
  if (models.some((model) => model === '')) throw badInput('--models is a comma-separated list of model names');
  if (models.length > MAX_ALLOWED_MODELS) throw badInput(`--models takes at most ${MAX_ALLOWED_MODELS} models`);
  return models;
}

/** `2027-01-01` (midnight UTC) or a full ISO 8601 time. */
function dateFrom(text: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? new Date(text) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw badInput(`--expires "${text}" is not a date: use YYYY-MM-DD or an ISO 8601 time`);
  }
  return date;
}
