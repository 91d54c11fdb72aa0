import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { limitsSchema } from './config/limits-schema.js';
import { routerConfigSchema } from './config/router-schema.js';
import { PII_MODES } from './privacy/pii-modes.js';

/**
 * An extra deployment of a provider kind under its own name, e.g. a second OpenAI-compatible
 * base URL. Its key is read from the environment variable it names, never written in the file.
 * The kinds are the provider definitions' (src/providers checks `kind` against them).
 */
const providerEntrySchema = z.strictObject({
  kind: z.string().min(1),
  baseURL: z.url().optional(),
  apiKeyEnv: z.string().min(1).optional(),
  defaultModel: z.string().min(1).optional(),
});

/**
 * Limits on GraphQL operations, checked before anything runs (HTTP, SSE and WebSocket alike);
 * refusals are BAD_USER_INPUT with `extensions.limit` naming the limit.
 */
const graphqlLimitsSchema = z
  .strictObject({
    /** Deepest nesting of fields (fragments do not count as levels; introspection is exempt). */
    maxDepth: z.number().int().positive().default(12),
    /** Aliased fields per operation (`__typename` exempt). */
    maxAliases: z.number().int().positive().default(15),
    /** graphql-armor's cost: 1 a scalar, 2 an object, x1.5 a level, x a literal first/last. */
    maxCost: z.number().int().positive().default(20_000),
    /** Lexical tokens in one document, counted while parsing. */
    maxTokens: z.number().int().positive().default(2_000),
    /** Directives in one document. */
    maxDirectives: z.number().int().positive().default(50),
    /** Rows nested connections may return: the product of page sizes down any path. */
    maxConnectionNodes: z.number().int().positive().default(10_000),
    /** Longest string argument that has no limit of its own (ids, names, titles), in characters. */
    maxStringChars: z.number().int().positive().default(1_000),
    /** Largest HTTP request body (JSON or multipart): room for a 5 MiB document and its encoding. */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1_048_576),
    websocket: z
      .strictObject({
        /** Largest message a client may send; a bigger one closes the socket with 1009. */
        maxPayloadBytes: z.number().int().positive().default(1_048_576),
        /** Operations running at once on one socket. */
        maxSubscriptions: z.number().int().positive().default(100),
        /** Open sockets from one client address (behind a proxy: the proxy's address). */
        maxSocketsPerAddress: z.number().int().positive().default(50),
      })
      .prefault({}),
  })
  .prefault({});

/** USD per million tokens; `cachedInput` and `cacheWrite` where the provider bills them apart. */
const priceSchema = z.strictObject({
  input: z.number().finite().min(0).max(100_000),
  output: z.number().finite().min(0).max(100_000),
  cachedInput: z.number().finite().min(0).max(100_000).optional(),
  cacheWrite: z.number().finite().min(0).max(100_000).optional(),
});

/** The whole `SWITCHYARD_CONFIG` file: routing, plus named provider deployments. */
export const configFileSchema = routerConfigSchema.extend({
  providers: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _'), providerEntrySchema)
    .default({}),
  health: z
    .strictObject({
      intervalMs: z.number().int().positive().default(15_000),
      probeTimeoutMs: z.number().int().positive().default(5_000),
    })
    .prefault({}),
  chat: z
    .strictObject({
      /** Longest message a user may send, in characters. */
      maxContentChars: z.number().int().positive().default(100_000),
      /** Longest system prompt, in characters. */
      maxSystemPromptChars: z.number().int().positive().default(100_000),
      /** Tokens kept free for the reply when a request sets no maxTokens. */
      defaultReservedOutputTokens: z.number().int().positive().default(1_024),
      /**
       * Upstream text arriving within this long after a delta is joined into the next one (the
       * first token is never held). 0 joins only what arrives in one burst.
       */
      deltaWindowMs: z.number().int().nonnegative().max(1_000).default(40),
      /** Partial text reaches the database at least this often while streaming. */
      flushIntervalMs: z.number().int().positive().default(1_000),
      /** Each instance marks its running generations alive this often. */
      heartbeatMs: z.number().int().positive().default(5_000),
      /** A STREAMING message whose heartbeat is older than this lost its instance: INTERRUPTED. */
      staleAfterMs: z.number().int().positive().default(30_000),
      /** How often every instance looks for such messages. */
      sweepIntervalMs: z.number().int().positive().default(10_000),
      /** Deltas buffered per message for replay; a subscriber further behind is told to resume. */
      maxBufferedDeltas: z.number().int().positive().default(50_000),
      /** How long a finished stream stays replayable from the buffer. */
      endedStreamTtlMs: z.number().int().positive().default(300_000),
    })
    .prefault({}),
  /** What one GraphQL operation may ask for; see src/http/query-limits.ts for why these numbers. */
  graphql: graphqlLimitsSchema,
  /** How the REST endpoints (`/v1/...`) read request bodies; see src/rest/rest-api.ts. */
  rest: z
    .strictObject({
      /** A request body that has not fully arrived this long after the route began reading it is a 408. */
      bodyTimeoutMs: z.number().int().positive().default(60_000),
      /** Body bytes all requests being read may hold in memory together; past it a request is a 429. */
      maxBodyBytesInFlight: z
        .number()
        .int()
        .positive()
        .default(64 * 1_048_576),
    })
    .prefault({}),
  /**
   * One structured line per HTTP request and per WebSocket operation (src/http/access-log.ts):
   * ids, operation, status or code, duration, tokens and cost; never prompts, variables or keys.
   */
  accessLog: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  /** Limits for every API key that has none of its own (see src/policy/limits.ts). */
  limits: limitsSchema.optional(),
  /**
   * Prices added to or replacing the shipped table (src/policy/prices/price-table.ts), by model id
   * (`gpt-4o-mini`) or provider-qualified id (`openai/gpt-4o-mini`).
   */
  prices: z.record(z.string().min(1).max(200), priceSchema).default({}),
  /**
   * Personal data in prompts (src/privacy): the mode every request runs under at least; a user's
   * or key's own mode applies when stricter.
   */
  pii: z.strictObject({ mode: z.enum(PII_MODES).default('off') }).prefault({}),
  usage: z
    .strictObject({
      /**
       * A running generation's stream slot and budget hold are leases, renewed while it runs: a
       * process that dies frees them after this long.
       */
      leaseMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    })
    .prefault({}),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ProviderEntry = z.infer<typeof providerEntrySchema>;
export type PriceEntry = z.infer<typeof priceSchema>;

/** Reads and validates the file; throws an Error whose message is one line saying what is wrong. */
export function readConfigFile(path: string | undefined): ConfigFile {
  if (!path) return configFileSchema.parse({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new Error(
      `it is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const result = configFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return result.data;
}
