import { badInput } from '../../errors.js';
import type { Deployment, DeploymentGroup, PlanRequest, RoutePlan, RouteResolution } from './types.js';

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
  const takes = (d: Deployment) =>
    temperature === undefined || (temperature >= d.limits.temperature.min && temperature <= d.limits.temperature.max);
  const groups = keep(resolution.groups, takes);
  const first = groups[0];
  if (!first) throw temperatureError(temperature as number, resolution.chain);
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
