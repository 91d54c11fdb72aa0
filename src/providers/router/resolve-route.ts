import type { RouterConfig } from '../../config/router-schema.js';
import { AppError, badInput } from '../../errors.js';
import { inferProviderKind } from '../definitions.js';
import type { ProviderRegistration, ProviderRegistry } from '../registry.js';
import { routeError } from './errors.js';
import type {
  Deployment,
  DeploymentGroup,
  PlanRequest,
  RequestNeeds,
  RoutePlan,
  RouteResolution,
  RouteSource,
  RouteTarget,
} from './types.js';

export interface RouteResolverOptions {
  registry: ProviderRegistry;
  config: Pick<RouterConfig, 'aliases' | 'strategy'>;
  defaultModel: string;
  /** Whether a registered provider may take traffic now. */
  isAvailable: (entry: ProviderRegistration) => boolean;
  /** The limits and capabilities of a provider's model. */
  describe: (provider: ProviderRegistration['provider'], model: string) => Pick<Deployment, 'limits' | 'capabilities'>;
}

export interface RouteResolver {
  /** Throws AppError BAD_USER_INPUT when the target cannot be routed. */
  resolve(target: RouteTarget): RouteResolution;
  readonly defaultModel: string;
}

interface PartialRoute {
  source: RouteSource;
  groups: DeploymentGroup[];
}

/**
 * Turns (model?, provider?) into deployment groups in fallback order: explicit provider, then
 * `provider/model`, then aliases (with their fallbacks), then inference from the id; bare ids that
 * would go to an absent Ollama go to the default model instead.
 */
export function createRouteResolver(options: RouteResolverOptions): RouteResolver {
  const { registry, config, defaultModel, isAvailable, describe } = options;

  const usable = (name: string) => {
    const entry = registry.get(name);
    return entry && isAvailable(entry) ? entry : undefined;
  };
  const choices = () => ({
    providers: registry.entries.filter(isAvailable).map((e) => e.provider.name),
    aliases: Object.keys(config.aliases),
    defaultModel,
  });
  const deployment = (entry: ProviderRegistration, model: string, weight = 1): Deployment => ({
    id: `${entry.provider.name}/${model}`,
    provider: entry.provider,
    model,
    weight,
    ...describe(entry.provider, model),
  });
  const single = (entry: ProviderRegistration, model: string): DeploymentGroup => {
    const d = deployment(entry, model);
    return { key: d.id, strategy: config.strategy, deployments: [d] };
  };
  const aliasOf = (name: string) => (Object.hasOwn(config.aliases, name) ? config.aliases[name] : undefined);
  const fail = (problem: string, target: RouteTarget) => routeError(problem, target, choices());

  function resolveAlias(name: string, visited: Set<string>): DeploymentGroup[] {
    const alias = aliasOf(name);
    if (!alias || visited.has(name)) return [];
    visited.add(name);
    const groups: DeploymentGroup[] = [];
    const deployments = alias.deployments.flatMap((d) => {
      const entry = usable(d.provider);
      return entry ? [deployment(entry, d.model, d.weight)] : [];
    });
    if (deployments.length > 0) groups.push({ key: name, strategy: alias.strategy ?? config.strategy, deployments });
    for (const fallback of alias.fallbacks) {
      try {
        groups.push(...resolveModel(fallback, visited, false).groups);
      } catch (error) {
        // A fallback whose provider is not configured here is skipped, not fatal.
        if (!AppError.isInstance(error)) throw error;
      }
    }
    return groups;
  }

  function resolveModel(ref: string, visited: Set<string>, allowDefault: boolean): PartialRoute {
    if (aliasOf(ref)) {
      const groups = resolveAlias(ref, visited);
      if (groups.length === 0) throw fail(`Alias "${ref}" has no configured deployment.`, { model: ref });
      return { source: 'alias', groups };
    }
    const slash = ref.indexOf('/');
    const prefix = slash > 0 ? ref.slice(0, slash) : '';
    if (registry.get(prefix)) {
      const entry = usable(prefix);
      if (!entry) throw fail(`Provider "${prefix}" is not configured.`, { model: ref });
      return { source: 'qualified', groups: [single(entry, ref.slice(slash + 1))] };
    }
    const kind = inferProviderKind(ref);
    const entry = registry.byKind(kind);
    if (entry && isAvailable(entry)) {
      const model = kind === 'mock' && ref === 'mock' ? registry.defaultModelOf(entry) : ref;
      const groups = [single(entry, model)];
      // An auto-detected Ollama may vanish: the default model stands behind it.
      if (entry.configured === 'auto' && allowDefault) groups.push(...resolveDefault().groups);
      return { source: 'inferred', groups };
    }
    if (kind === 'ollama' && allowDefault) return resolveDefault();
    throw fail(`Model "${ref}" needs the ${kind} provider, which is not configured.`, { model: ref });
  }

  function resolveDefault(): PartialRoute {
    return { ...resolveModel(defaultModel, new Set(), false), source: 'default' };
  }

  function resolveForProvider(name: string, model: string | undefined): PartialRoute {
    const entry = registry.get(name);
    if (!entry) throw fail(`Unknown provider "${name}".`, { model, provider: name });
    if (!isAvailable(entry)) throw fail(`Provider "${name}" is not configured.`, { model, provider: name });
    if (model === undefined) return { source: 'provider', groups: [single(entry, defaultModelFor(entry))] };
    const slash = model.indexOf('/');
    const prefix = slash > 0 ? model.slice(0, slash) : '';
    if (registry.get(prefix)) {
      if (prefix !== name)
        throw fail(`Model "${model}" belongs to "${prefix}", not "${name}".`, { model, provider: name });
      return { source: 'provider', groups: [single(entry, model.slice(slash + 1))] };
    }
    const alias = aliasOf(model);
    const onProvider = alias?.deployments.filter((d) => d.provider === name) ?? [];
    if (alias && onProvider.length > 0) {
      const deployments = onProvider.map((d) => deployment(entry, d.model, d.weight));
      return { source: 'provider', groups: [{ key: model, strategy: alias.strategy ?? config.strategy, deployments }] };
    }
    return { source: 'provider', groups: [single(entry, model)] };
  }

  /** The default chain's model on this provider, else the provider's own default. */
  function defaultModelFor(entry: ProviderRegistration): string {
    try {
      const onProvider = resolveDefault()
        .groups.flatMap((g) => g.deployments)
        .find((d) => d.provider === entry.provider);
      if (onProvider) return onProvider.model;
    } catch {
      // The default may be unroutable right now; the provider's own default still is.
    }
    return registry.defaultModelOf(entry);
  }

  return {
    defaultModel,
    resolve(target) {
      const partial =
        target.provider !== undefined
          ? resolveForProvider(target.provider, target.model)
          : target.model === undefined || target.model === ''
            ? resolveDefault()
            : resolveModel(target.model, new Set(), true);
      return withoutDuplicates(partial);
    },
  };
}

/** A deployment reached twice (alias and fallback) is tried once, where it first appears. */
function withoutDuplicates({ source, groups }: PartialRoute): RouteResolution {
  const seen = new Set<string>();
  const kept = keep(groups, (d) => !seen.has(d.id) && Boolean(seen.add(d.id)));
  return { source, groups: kept, chain: kept.flatMap((g) => g.deployments) };
}

/**
 * Which deployments of a resolved route may answer a request. The rule for a deployment that
 * cannot take a request's parameters: it is skipped, never sent a request it would refuse.
 * - temperature: deployments whose range excludes it are left out; when none is left, the request
 *   is BAD_USER_INPUT naming each range.
 * - context window: the prompt is budgeted to the smallest window of the first group (so balancing
 *   there is not skewed); `fitPrompt` then leaves out later deployments (fallbacks) too small for it.
 */
export function planRoute(resolution: RouteResolution, request: PlanRequest): RoutePlan {
  const { temperature } = request;
  const missing = lacking(request.needs);
  const capable = keep(resolution.groups, (d) => missing(d).length === 0);
  if (capable.length === 0 && resolution.chain.length > 0) throw capabilityError(resolution.chain, missing);
  const takes = (d: Deployment) =>
    temperature === undefined || (temperature >= d.limits.temperature.min && temperature <= d.limits.temperature.max);
  const groups = keep(capable, takes);
  const first = groups[0];
  if (!first) {
    if (temperature === undefined) throw new AppError('PROVIDER_UNAVAILABLE', 'No deployment serves this model');
    throw temperatureError(temperature, resolution.chain);
  }
  const budgetedFor = first.deployments.reduce((a, b) => (b.limits.contextWindow < a.limits.contextWindow ? b : a));
  return {
    source: resolution.source,
    groups,
    chain: groups.flatMap((g) => g.deployments),
    contextWindow: budgetedFor.limits.contextWindow,
    budgetedFor,
  };
}

/** The plan without deployments whose window cannot hold `tokens` (prompt plus the reply's reserve). */
export function fitPrompt(plan: RoutePlan, tokens: number): RoutePlan {
  const groups = keep(plan.groups, (d) => d === plan.budgetedFor || d.limits.contextWindow >= tokens);
  return { ...plan, groups, chain: groups.flatMap((g) => g.deployments) };
}

function keep(groups: readonly DeploymentGroup[], fits: (d: Deployment) => boolean): DeploymentGroup[] {
  return groups.flatMap((group) => {
    const deployments = group.deployments.filter(fits);
    return deployments.length > 0 ? [{ ...group, deployments }] : [];
  });
}

/** The capabilities a deployment lacks for a request's needs (none: it can take the request). */
function lacking(needs: RequestNeeds | undefined): (d: Deployment) => string[] {
  if (!needs) return () => [];
  return ({ capabilities: c }) => {
    const names: string[] = [];
    if (needs.tools && !c.tools) names.push('tools');
    if (needs.images && !c.images) names.push('images');
    else if (needs.imageUrls && !c.imageUrls) names.push('remote image URLs (send the image as a data: URL)');
    if (needs.responseFormat === 'json-object' && !c.jsonObject) names.push('JSON output');
    if (needs.responseFormat === 'json-schema' && !c.jsonSchema) names.push('JSON Schema output');
    return names;
  };
}

function capabilityError(chain: readonly Deployment[], missing: (d: Deployment) => string[]) {
  const needed = [...new Set(chain.flatMap(missing))];
  const models = [...new Set(chain.map((d) => d.id))].join(', ');
  return badInput(`No deployment of this model can take ${needed.join(' and ')} (${models})`, {
    field: 'model',
    unsupported: needed,
  });
}

/** One clause per distinct kind and range: "temperature 3 is outside mock's range 0..2". */
function temperatureError(temperature: number, chain: readonly Deployment[]) {
  const ranges = [
    ...new Map(
      chain.map((d) => {
        const { min, max } = d.limits.temperature;
        return [`${d.provider.kind}:${min}:${max}`, { kind: d.provider.kind, min, max }];
      }),
    ).values(),
  ];
  const text = ranges.map((r) => `${r.kind}'s range ${r.min}..${r.max}`).join(' and ');
  const widest = { min: Math.min(...ranges.map((r) => r.min)), max: Math.max(...ranges.map((r) => r.max)) };
  return badInput(`temperature ${temperature} is outside ${text}`, { field: 'temperature', ...widest });
}
