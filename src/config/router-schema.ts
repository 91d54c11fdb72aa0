import { z } from 'zod';

/** How one alias spreads requests over its deployments. */
export const strategyNameSchema = z.enum(['round-robin', 'weighted', 'least-busy', 'lowest-latency']);
export type StrategyName = z.infer<typeof strategyNameSchema>;

const name = z.string().min(1);

export const deploymentConfigSchema = z.strictObject({
  /** A registered provider name: `openai`, `anthropic`, `ollama`, `mock` or a named deployment. */
  provider: name.refine((v) => !v.includes('/'), 'a provider name has no "/"'),
  /** The provider's own model id. */
  model: name,
  /** Share of traffic under the `weighted` strategy. */
  weight: z.number().positive().default(1),
});

export const aliasConfigSchema = z.strictObject({
  deployments: z.array(deploymentConfigSchema).min(1),
  /** Overrides the router-wide strategy for this alias. */
  strategy: strategyNameSchema.optional(),
  /** Tried in order when every deployment failed: aliases, `provider/model` ids or bare model ids. */
  fallbacks: z.array(name).default([]),
});

const ms = z.number().int().nonnegative();
const limitMs = z.number().int().positive();

export const resilienceConfigSchema = z.strictObject({
  timeouts: z
    .strictObject({
      /** From the upstream call to its first token. */
      firstTokenMs: limitMs.default(60_000),
      /** Longest silence between two tokens. */
      idleMs: limitMs.default(60_000),
      /** Whole request, retries and fallbacks included. */
      totalMs: limitMs.default(600_000),
      /**
       * One upstream embedding call's whole answer (it streams nothing). Generous: a local model
       * on a CPU embeds a batch of 96 chunks in tens of seconds.
       */
      embeddingMs: limitMs.default(180_000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      /** Retries per deployment, after the first try. */
      maxRetries: z.number().int().nonnegative().default(2),
      /** Exponential backoff with full jitter: random(0, min(maxDelayMs, initialDelayMs * 2^n)). */
      initialDelayMs: ms.default(250),
      maxDelayMs: ms.default(10_000),
      /** A provider's Retry-After is waited for, up to this. */
      maxRetryAfterMs: ms.default(30_000),
    })
    .prefault({}),
  breaker: z
    .strictObject({
      /** Consecutive failures of a deployment that open its circuit. */
      failureThreshold: z.number().int().positive().default(5),
      /** Cool-down before one trial call is let through (half-open). */
      halfOpenAfterMs: limitMs.default(30_000),
    })
    .prefault({}),
});

const aliasName = name.regex(/^[^/\s]+$/, 'an alias has no "/" or spaces');

/**
 * The routing section of the `SWITCHYARD_CONFIG` file. Every field has a default, so `{}` is valid.
 *
 * @example
 * { defaultModel: 'fast', strategy: 'round-robin',
 *   aliases: { fast: { deployments: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 2 },
 *                                     { provider: 'openai-eu', model: 'gpt-4o-mini' }],
 *                      strategy: 'weighted', fallbacks: ['claude-haiku-4-5', 'ollama/llama3.2'] } },
 *   resilience: { retry: { maxRetries: 2 }, timeouts: { firstTokenMs: 30000 } } }
 */
export const routerConfigSchema = z.strictObject({
  /** Model (or alias) for requests that name none. */
  defaultModel: name.optional(),
  /** Balancing strategy for aliases that do not set one. */
  strategy: strategyNameSchema.default('round-robin'),
  aliases: z.record(aliasName, aliasConfigSchema).default({}),
  resilience: resilienceConfigSchema.prefault({}),
});

export type RouterConfigInput = z.input<typeof routerConfigSchema>;
export type RouterConfig = z.output<typeof routerConfigSchema>;
export type ResilienceConfig = z.output<typeof resilienceConfigSchema>;
export type AliasConfig = z.output<typeof aliasConfigSchema>;
