import { KEYS_USAGE, type KeysCommand, parseKeysArgs, UsageError } from './cli/keys-args.js';
import { createKey, type KeysOutput, listKeys, revokeKey } from './cli/keys-commands.js';
import { type Config, ConfigError, loadConfig, MEMORY_DATA_DIR } from './config.js';
import { type Database, openDatabase } from './db/database.js';
import { ensureDefaultUser } from './db/default-user.js';
import { AppError } from './errors.js';
import { createLogger } from './logger.js';
import { publishOnce } from './pubsub/pubsub.js';

/**
 * `npm run keys -- create | list | revoke`: API keys straight in the database the server uses
 * (same settings, same migrations), for the first key of a server that has none, and for
 * scripts. Exit codes: 0 done, 1 a value or the environment refused (one line), 2 usage.
 */
async function main(argv: string[]): Promise<number> {
  let command: KeysCommand;
  try {
    command = parseKeysArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${KEYS_USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${KEYS_USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  if (config.database.kind === 'pglite' && config.database.dataDir === MEMORY_DATA_DIR) {
    throw new Refused(`DATA_DIR=${MEMORY_DATA_DIR} keeps nothing: ${askTheServer(config)}`);
  }
  // Migration notices are the server's business; LOG_LEVEL still applies when set.
  const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn');
  const database = await openDatabase(config, logger).catch((error: unknown) => {
    // The running server holds the directory: a second PGlite on it would overwrite its writes.
    if (error instanceof ConfigError && error.variable === 'DATA_DIR') {
      throw new Refused(
        `${config.database.kind === 'pglite' ? config.database.dataDir : 'DATA_DIR'} is open in a running server: stop it and run this again, or ${askTheServer(config)}`,
      );
    }
    throw error;
  });
  let output: KeysOutput;
  try {
    await database.migrate();
    await ensureDefaultUser(database.prisma);
    output = await run(command, database);
  } finally {
    await database.close();
  }
  if (output.revokedId) output.stderr.push(await announceRevoked(config, output.revokedId));
  for (const line of output.stdout) process.stdout.write(`${line}\n`);
  for (const line of output.stderr) process.stderr.write(`${line}\n`);
  return 0;
}

function run(command: Exclude<KeysCommand, { kind: 'help' }>, database: Database): Promise<KeysOutput> {
  switch (command.kind) {
    case 'create':
      return createKey(database.prisma, command);
    case 'list':
      return listKeys(database.prisma);
    case 'revoke':
      return revokeKey(database.prisma, command.key);
  }
}

/** Running instances forget a revoked key at once through Redis; without it, when their cache expires. */
async function announceRevoked(config: Config, apiKeyId: string): Promise<string> {
  const later = 'running servers refuse it within 30 s (their key cache)';
  if (!config.redisUrl) {
    return config.database.kind === 'postgres' ? `Without REDIS_URL, ${later}.` : 'No server had it open.';
  }
  try {
    const listeners = await publishOnce(config.redisUrl, 'apiKeyRevoked', apiKeyId);
    return `Told ${listeners} running server${listeners === 1 ? '' : 's'} through Redis: refused at once, open WebSockets closed.`;
  } catch (error) {
    return `Redis did not answer (${(error as Error).message}): ${later}.`;
  }
}

function askTheServer(config: Config): string {
  const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/graphql`;
  // This shell's PORT and HOST: the server may have been started with others.
  const where = config.env.PORT || config.env.HOST ? url : `${url} unless it was started with another PORT or HOST`;
  return `use the createApiKey mutation on the running server (GraphiQL at ${where})`;
}

/** The environment does not allow the command: one line, exit 1. */
class Refused extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof Refused || error instanceof ConfigError || AppError.isInstance(error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${known ? message : `keys failed: ${message}`}\n`);
    process.exitCode = 1;
  },
);
