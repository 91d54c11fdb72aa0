import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { type AuthSettings, MIN_SECRET_LENGTH, normaliseOrigin } from './config/auth-settings.js';
import { type ConfigFile, readConfigFile } from './config-file.js';
import type { LogLevel } from './logger.js';

/**
 * The one place that reads the environment. Every setting has a working default; a bad value
 * becomes a ConfigError whose message is one line naming the variable, the value and what is allowed.
 */
export interface Config {
  port: number;
  host: string;
  database: { kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dataDir: string };
  redisUrl: string | undefined;
  /**
   * The environment as given: each provider definition names the variables it reads (keys, base
   * URLs), and src/providers reads and checks them, so a new provider kind needs no change here.
   */
  env: Readonly<Env>;
  defaultModel: string | undefined;
  embeddingModel: string | undefined;
  /** The routing file (JSON or YAML) named by SWITCHYARD_CONFIG, validated; defaults when unset. */
  file: ConfigFile;
  filePath: string | undefined;
  /** API keys of the file's extra provider deployments, read from the variables it names. */
  providerKeys: Record<string, string | undefined>;
  /** Per-token delay of the built-in mock provider. */
  mockTokenDelayMs: number;
  logLevel: LogLevel;
  /** How long SIGTERM/SIGINT lets running generations finish before they end INTERRUPTED. */
  shutdownTimeoutMs: number;
  /** Credentials the server accepts, and the browser origins it serves. */
  auth: AuthSettings;
  /**
   * `/metrics`: behind `Authorization: Bearer <token>` when a token is set; on a second listener
   * (same host) when a port is set, else on the main port.
   */
  metrics: {
    token: string | undefined;
    port: number | undefined;
    /** METRICS=off: nothing is recorded and /metrics is not served (the observability benchmark's baseline). */
    enabled: boolean;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string | undefined,
    readonly allowed: string,
  ) {
    super(`Invalid configuration: ${variable}=${JSON.stringify(value ?? '')} is not allowed; expected ${allowed}.`);
    this.name = 'ConfigError';
  }
}

export const MEMORY_DATA_DIR = 'memory://';

type Env = Record<string, string | undefined>;

const optional = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());

function parse<T>(env: Env, name: string, schema: z.ZodType<T>, allowed: string, fallback?: string): T {
  const raw = optional(env[name]) ?? fallback;
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(name, env[name], allowed);
  return result.data;
}

const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  });
const optionalUrl = (protocols: string[]) => url(protocols).optional();

/** A data directory must be a directory we can write, or a path we can create. */
function isUsableDataDir(path: string): boolean {
  if (path === MEMORY_DATA_DIR) return true;
  let current = resolve(path);
  for (;;) {
    try {
      if (!statSync(current).isDirectory()) return false;
      accessSync(current, constants.W_OK);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      const parent = dirname(current);
      if (parent === current) return false;
      current = parent;
    }
  }
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = parse(env, 'DATABASE_URL', optionalUrl(['postgres:', 'postgresql:']), 'a postgres:// URL');
  const dataDir = parse(
    env,
    'DATA_DIR',
    z.string().refine(isUsableDataDir),
    `a writable directory path or ${MEMORY_DATA_DIR}`,
    './.data',
  );
  const configPath = optional(env.SWITCHYARD_CONFIG);
  let file: ConfigFile;
  try {
    file = readConfigFile(configPath);
  } catch (error) {
    throw new ConfigError(
      'SWITCHYARD_CONFIG',
      configPath,
      `a readable JSON or YAML routing file (${(error as Error).message})`,
    );
  }
  // Checked even without DATABASE_URL: a bad value is refused, not silently unused.
  const poolSize = parse(
    env,
    'DATABASE_POOL_SIZE',
    z.coerce.number().int().min(1).max(1000),
    'a whole number from 1 to 1000',
    '20',
  );
  return {
    port: parse(env, 'PORT', port, 'an integer from 0 to 65535', '4000'),
    host: parse(env, 'HOST', z.string().min(1), 'a host name or IP address', '127.0.0.1'),
    database: databaseUrl
      ? {
          kind: 'postgres',
          url: databaseUrl,
          poolSize,
        }
      : { kind: 'pglite', dataDir: dataDir === MEMORY_DATA_DIR ? dataDir : resolve(dataDir) },
    redisUrl: parse(env, 'REDIS_URL', optionalUrl(['redis:', 'rediss:']), 'a redis:// or rediss:// URL'),
    env: { ...env },
    defaultModel: optional(env.DEFAULT_MODEL),
    embeddingModel: optional(env.EMBEDDING_MODEL),
    file,
    filePath: configPath,
    providerKeys: Object.fromEntries(
      Object.entries(file.providers).map(([name, entry]) => [
        name,
        entry.apiKeyEnv ? optional(env[entry.apiKeyEnv]) : undefined,
      ]),
    ),
    mockTokenDelayMs: parse(
      env,
      'MOCK_TOKEN_DELAY_MS',
      z.coerce.number().int().min(0),
      'a whole number of milliseconds',
      '20',
    ),
    logLevel: parse(
      env,
      'LOG_LEVEL',
      z.enum(['debug', 'info', 'warn', 'error', 'silent']),
      'one of debug, info, warn, error, silent',
      'info',
    ),
    shutdownTimeoutMs: parse(
      env,
      'SHUTDOWN_TIMEOUT_MS',
      z.coerce.number().int().min(0),
      'a whole number of milliseconds',
      '30000',
    ),
    auth: readAuthSettings(env),
    metrics: {
      token: parse(
        env,
        'METRICS_TOKEN',
        z.string().min(MIN_SECRET_LENGTH).max(512).regex(/^\S+$/).optional(),
        `at least ${MIN_SECRET_LENGTH} characters without spaces (e.g. the output of: openssl rand -hex 24)`,
      ),
      port: parse(env, 'METRICS_PORT', port.optional(), 'an integer from 0 to 65535'),
      enabled: parse(env, 'METRICS', z.enum(['on', 'off']), 'on or off', 'on') === 'on',
    },
  };
}

function readAuthSettings(env: Env): AuthSettings {
  const secret = z.string().min(MIN_SECRET_LENGTH).max(512);
  const adminKey = parse(
    env,
    'SWITCHYARD_ADMIN_KEY',
    secret.optional(),
    `at least ${MIN_SECRET_LENGTH} characters (e.g. the output of: openssl rand -base64 36)`,
  );
  const jwksUrl = parse(env, 'AUTH_JWKS_URL', optionalUrl(['https:', 'http:']), 'an https:// URL of a JWKS');
  const jwtSecret = parse(
    env,
    'AUTH_JWT_SECRET',
    secret.optional(),
    `an HS256 secret of at least ${MIN_SECRET_LENGTH} characters`,
  );
  if (jwksUrl && jwtSecret) {
    throw new ConfigError('AUTH_JWT_SECRET', '(set)', 'either AUTH_JWKS_URL or AUTH_JWT_SECRET, not both');
  }
  const issuer = optional(env.AUTH_JWT_ISSUER);
  const audience = optional(env.AUTH_JWT_AUDIENCE);
  if (!jwksUrl && !jwtSecret && (issuer || audience)) {
    throw new ConfigError(
      issuer ? 'AUTH_JWT_ISSUER' : 'AUTH_JWT_AUDIENCE',
      issuer ?? audience,
      'AUTH_JWKS_URL or AUTH_JWT_SECRET set beside it',
    );
  }
  const corsOrigins = (optional(env.CORS_ORIGINS) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const origin = normaliseOrigin(entry);
      if (!origin) {
        throw new ConfigError(
          'CORS_ORIGINS',
          env.CORS_ORIGINS,
          'comma-separated origins such as https://app.example.com',
        );
      }
      return origin;
    });
  return {
    adminKey,
    jwt: jwksUrl
      ? { kind: 'jwks', jwksUrl: new URL(jwksUrl), issuer, audience }
      : jwtSecret
        ? { kind: 'secret', secret: new TextEncoder().encode(jwtSecret), issuer, audience }
        : undefined,
    corsOrigins,
  };
}
