import { TimeoutStrategy, timeout } from 'cockatiel';
import { z } from 'zod';
import {
  type RouterConfig,
  type RouterConfigInput,
  routerConfigSchema,
  type StrategyName,
} from '../../config/router-schema.js';
import { AppError } from '../../errors.js';
import type { Tracing } from '../../tracing/index.js';
import { definitionOf, knownContextWindow } from '../definitions.js';
import { createProviderRegistry, type ProviderInput, type ProviderRegistration } from '../registry.js';
import type { ChatProvider, ModelInfo } from '../types.js';
import { withEmbeddingSpan } from './attempt-span.js';
import { type Balancer, createBalancers, createDeploymentStats } from './balancing.js';
import { embedWithChain } from './embed-chain.js';
import { asProviderError, type Failure, finalError } from './errors.js';
import { modelAccess, restrictRoute } from './model-access.js';
import { needsOf } from './request-needs.js';
import { createCircuitBreakers, createRequestScope, endsRequest } from './resilience.js';
import { createRouteResolver, planRoute } from './resolve-route.js';
import { type AttemptDeps, type OpenedStream, openWithRetries, relayStream, releaseStream } from './stream-attempt.js';
import { noopRecorder, type TrafficRecorder } from './traffic-recorder.js';
import type {
  DeploymentGroup,
  EmbedResult,
  PlanRequest,
  RoutedChatRequest,
  RoutedEmbedRequest,
  RoutedStreamPart,
  RoutePlan,
  RouteResolution,
  RouteTarget,
} from './types.js';

/** When neither the provider's model list nor its kind's table knows a window, assume a small one. */
const FALLBACK_CONTEXT_WINDOW = 8_192;

export interface RouterOptions extends RouterConfigInput {
  /** Every known provider; bare ChatProviders count as configured. */
  providers: readonly ProviderInput[];
  /** For `configured: 'auto'` providers: may they take traffic now? Defaults to yes. */
  isAvailable?: (providerName: string) => boolean;
  /** Receives per-call outcomes and circuit changes (the health monitor). */
  recorder?: TrafficRecorder;
  /** Uniform in [0, 1); seed it in tests. */
  random?: () => number;
  /** Milliseconds, monotonic; used for time to first token. */
  now?: () => number;
  /** A model's window as its provider lists it (the health monitor's model lists), if it does. */
  contextWindowOf?: (provider: string, model: string) => number | undefined;
  /** Spans per upstream call (`chat {model}`, `embeddings {model}`) when tracing is on. */
  tracing?: Tracing;
}

export interface Router {
  readonly defaultModel: string;
  /** Deployment groups in fallback order, before balancing. Throws AppError BAD_USER_INPUT. */
  resolve(target: RouteTarget): RouteResolution;
  /**
   * The route once per request: only deployments that can take its parameters and that the
   * caller's `allowedModels` reach, and the window to budget its prompt to (see planRoute and
   * model-access.ts for the rules). Throws AppError BAD_USER_INPUT, or FORBIDDEN for a model the
   * caller may not use.
   */
  plan(request: PlanRequest): RoutePlan;
  /**
   * Streams `start`, text deltas, then `finish` or `error` (never throws while iterating), over
   * `request.plan` or else a plan of its own. Throws AppError BAD_USER_INPUT at once when the
   * request cannot be routed.
   */
  stream(request: RoutedChatRequest): AsyncIterable<RoutedStreamPart>;
  /** One provider's models, or every available provider's (those that fail to answer are left out). */
  listModels(provider?: string, signal?: AbortSignal): Promise<ModelInfo[]>;
  embed(request: RoutedEmbedRequest): Promise<EmbedResult>;
}

interface StreamDeps extends AttemptDeps {
  balancers: Record<StrategyName, Balancer>;
}

/**
 * The one entry point the chat service needs: resolves a request to deployments, balances them,
 * and runs the call with timeouts, retries, per-deployment circuit breakers and fallbacks.
 *
 * @example
 * const router = createRouter({ providers: [createMockProvider()], aliases: {} });
 * for await (const part of router.stream({ messages: [{ role: 'user', content: 'hi' }] })) ...
 */
export function createRouter(options: RouterOptions): Router {
  const parsed = routerConfigSchema.safeParse({
    defaultModel: options.defaultModel,
    strategy: options.strategy,
    aliases: options.aliases,
    resilience: options.resilience,
  });
  if (!parsed.success) throw new Error(`Invalid router configuration: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const registry = createProviderRegistry(options.providers);
  checkAliasProviders(config, (name) => registry.get(name) !== undefined);

  const isAvailable = (entry: ProviderRegistration) =>
    entry.configured === 'auto' ? (options.isAvailable?.(entry.provider.name) ?? true) : entry.configured;
  const defaultModel = config.defaultModel ?? pickDefaultModel(registry.entries, registry.defaultModelOf);
  const describe = (provider: ChatProvider, model: string) => {
    const definition = definitionOf(provider.kind);
    const contextWindow =
      options.contextWindowOf?.(provider.name, model) ??
      knownContextWindow(provider.kind, model) ??
      FALLBACK_CONTEXT_WINDOW;
    return { limits: { contextWindow, temperature: definition.temperature }, capabilities: definition.capabilities };
  };
  const resolver = createRouteResolver({ registry, config, defaultModel, isAvailable, describe });
  checkDefaultModel(
    createRouteResolver({ registry, config, defaultModel, isAvailable: (e) => e.configured !== false, describe }),
  );
  /** The deployment ids an alias routes to (its fallbacks too), for an entry of `allowedModels`. */
  const aliasTargets = (name: string) => {
    if (!Object.hasOwn(config.aliases, name)) return undefined;
    try {
      return resolver.resolve({ model: name }).chain.map((d) => d.id);
    } catch {
      return []; // none of its providers is configured here
    }
  };
  const plan = (request: PlanRequest) => {
    const resolution = resolver.resolve(request);
    if (!request.allowedModels) return planRoute(resolution, request);
    const requested = request.model || (request.provider === undefined ? defaultModel : resolution.chain[0]?.id);
    const allowed = restrictRoute(resolution, modelAccess(request.allowedModels, aliasTargets), requested ?? '');
    return planRoute(allowed, request);
  };

  const random = options.random ?? Math.random;
  const recorder = options.recorder ?? noopRecorder;
  const stats = createDeploymentStats();
  const { timeouts } = config.resilience;
  const deps: StreamDeps = {
    resilience: config.resilience,
    balancers: createBalancers({ random, stats }),
    breakers: createCircuitBreakers(config.resilience.breaker, recorder),
    stats,
    recorder,
    firstTokenLimit: timeout(timeouts.firstTokenMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false }),
    random,
    now: options.now ?? (() => performance.now()),
    tracing: options.tracing,
  };

  return {
    defaultModel,
    resolve: (target) => resolver.resolve(target),
    plan,
    // Without a plan of the caller's, the request's own needs (tools, images, JSON) still decide it.
    stream: (request) =>
      routedStream(deps, request, (request.plan ?? plan({ ...request, needs: needsOf(request) })).groups),
    async listModels(provider, signal) {
      if (provider !== undefined) {
        const entry = registry.get(provider);
        if (!entry || !isAvailable(entry)) {
          const available = registry.entries.filter(isAvailable).map((e) => e.provider.name);
          throw new AppError('BAD_USER_INPUT', `Provider "${provider}" is not available. Available: ${available}.`, {
            provider,
            availableProviders: available,
          });
        }
        return entry.provider.listModels(signal);
      }
      const lists = await Promise.allSettled(
        registry.entries.filter(isAvailable).map((e) => e.provider.listModels(signal)),
      );
      return lists.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    },
    embed: (request) =>
      withEmbeddingSpan(options.tracing, request, () =>
        embedWithChain(
          {
            retry: config.resilience.retry,
            timeouts: config.resilience.timeouts,
            random,
            recorder,
            breakers: deps.breakers,
          },
          resolver.resolve(request),
          request,
        ),
      ),
  };
}

/**
 * Runs one request over its deployment groups: each group balanced, each deployment tried with
 * its retries and breaker (stream-attempt.ts), then the next, until one answers. Retries and
 * fallbacks stop at the first token; after it a failure ends the stream with an error part.
 */
async function* routedStream(
  deps: StreamDeps,
  request: RoutedChatRequest,
  groups: readonly DeploymentGroup[],
): AsyncGenerator<RoutedStreamPart> {
  const startedAt = deps.now();
  const scope = createRequestScope(request.signal, deps.resilience.timeouts.totalMs);
  const chain = groups.flatMap((g) => deps.balancers[g.strategy].order(g.deployments, g.key));
  const failures: Failure[] = [];
  let attempts = 0;
  let opened: OpenedStream | undefined;
  let finished = false;
  try {
    for (const deployment of chain) {
      if (scope.signal.aborted) break;
      const left = failures.at(-1)?.deployment;
      if (left) deps.recorder.fellBack?.(left.provider.name, left.id, 'chat');
      let tries = 0;
      try {
        opened = await openWithRetries(deps, deployment, request, scope, () => {
          attempts++;
          if (tries++ > 0) deps.recorder.retried?.(deployment.provider.name, deployment.id, 'chat');
        });
        break;
      } catch (raw) {
        const error = asProviderError(raw, deployment);
        failures.push({ deployment, error });
        if (endsRequest(error)) break;
      }
    }
    if (!opened) {
      const blamed = failures.at(-1)?.error.provider ?? chain[0]?.provider.name ?? 'router';
      yield { type: 'error', error: finalError(failures, scope.signal.aborted ? scope.stopError(blamed) : undefined) };
      return;
    }
    const { deployment } = opened;
    yield {
      type: 'start',
      provider: deployment.provider.name,
      kind: deployment.provider.kind,
      model: deployment.model,
      deploymentId: deployment.id,
      attempt: attempts,
      ttftMs: deps.now() - startedAt,
    };
    finished = yield* relayStream(deps, opened, scope);
  } finally {
    // Also reached when the consumer stops early: release the upstream call.
    if (opened) releaseStream(opened, finished);
    scope.dispose();
  }
}

/** A typo in an alias stops start-up instead of failing every request. */
function checkAliasProviders(config: RouterConfig, known: (name: string) => boolean): void {
  for (const [alias, { deployments }] of Object.entries(config.aliases)) {
    const unknown = deployments.find((d) => !known(d.provider));
    if (unknown) throw new Error(`Alias "${alias}" names provider "${unknown.provider}", which is not registered`);
  }
}

function checkDefaultModel(resolver: ReturnType<typeof createRouteResolver>): void {
  try {
    resolver.resolve({});
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Default model "${resolver.defaultModel}" cannot be routed: ${reason}`);
  }
}

/** The first configured real provider's default model, else the mock's. */
function pickDefaultModel(
  entries: readonly ProviderRegistration[],
  defaultModelOf: (entry: ProviderRegistration) => string,
): string {
  const chosen =
    entries.find((e) => e.configured === true && e.provider.kind !== 'mock') ??
    entries.find((e) => e.configured === true);
  if (!chosen) throw new Error('No configured provider to route to: register the mock provider at least');
  return `${chosen.provider.name}/${defaultModelOf(chosen)}`;
}
