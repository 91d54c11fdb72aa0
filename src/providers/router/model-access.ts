import { AppError } from '../../errors.js';
import type { Deployment, DeploymentGroup, RouteResolution } from './types.js';

/** Whether a credential may send a request to this deployment. */
export type ModelAccess = (deployment: Pick<Deployment, 'id' | 'model'>) => boolean;

/**
 * What an API key's `allowedModels` lets it reach. An entry allows a deployment when it is the
 * deployment's model id (`gpt-4o`) or its `provider/model` id (`openai/gpt-4o`); an entry naming a
 * configured alias also allows every deployment the alias routes to, fallbacks included, since the
 * operator wrote the alias. `aliasTargets` gives those deployment ids, or undefined for a non-alias.
 *
 * @example modelAccess(['fast'], (n) => (n === 'fast' ? ['openai/gpt-4o-mini'] : undefined))
 */
export function modelAccess(
  allowedModels: readonly string[],
  aliasTargets: (name: string) => readonly string[] | undefined,
): ModelAccess {
  const names = new Set(allowedModels);
  // Alias targets match by their full id only: allowing `openai/gpt-4o` through an alias must not
  // allow another provider's model that happens to be called `openai/gpt-4o`.
  const targets = new Set(allowedModels.flatMap((entry) => aliasTargets(entry) ?? []));
  return (d) => names.has(d.model) || names.has(d.id) || targets.has(d.id);
}

/**
 * The resolution without the deployments the key may not use, so that neither balancing nor a
 * fallback ever reaches them. Throws FORBIDDEN, naming `requested`, when the first group (what the
 * request itself resolves to) keeps none: a forbidden model is refused, not quietly swapped.
 */
export function restrictRoute(resolution: RouteResolution, allows: ModelAccess, requested: string): RouteResolution {
  const first = resolution.groups[0];
  if (first && !first.deployments.some(allows)) throw forbiddenModel(requested);
  const groups = resolution.groups.flatMap((group): DeploymentGroup[] => {
    const deployments = group.deployments.filter(allows);
    return deployments.length > 0 ? [{ ...group, deployments }] : [];
  });
  return { ...resolution, groups, chain: groups.flatMap((g) => g.deployments) };
}

export const forbiddenModel = (model: string) =>
  new AppError('FORBIDDEN', `this API key may not use model "${model}"`, { model });
