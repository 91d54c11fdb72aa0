import type { ProviderGateway } from '../providers/gateway.js';
import type { ProviderHealthSnapshot } from '../providers/health/index.js';
import type { ModelInfo } from '../providers/types.js';

/** A model with the kind of adapter that serves it (undefined for a provider the monitor does not know). */
export interface CatalogModel extends ModelInfo {
  kind: string | undefined;
}

export type CatalogProvider = ProviderHealthSnapshot;

/** What the `providers` and `models` queries read: the providers behind the router and their models. */
export interface ProviderCatalog {
  /** Every configured or known provider, with its health as this instance sees it. */
  providers(): CatalogProvider[];
  /** The models of one provider, or of every available one; with `allowedModels`, only those a key so limited may use. */
  models(provider?: string, allowedModels?: readonly string[] | null): Promise<CatalogModel[]>;
  /** Whether a key limited to `allowedModels` (null: unlimited) may use `model`, as the router decides it for a chat. */
  usable(model: Pick<ModelInfo, 'id' | 'provider'>, allowedModels: readonly string[] | null): boolean;
}

export function createProviderCatalog({
  router,
  monitor,
}: Pick<ProviderGateway, 'router' | 'monitor'>): ProviderCatalog {
  const usable: ProviderCatalog['usable'] = (model, allowedModels) => {
    if (allowedModels === null) return true;
    try {
      router.plan({ model: model.id, provider: model.provider, allowedModels });
      return true;
    } catch {
      return false;
    }
  };
  return {
    providers: () => monitor.snapshot(),
    async models(provider, allowedModels = null) {
      const models = await router.listModels(provider);
      return models
        .filter((model) => usable(model, allowedModels))
        .map((model) => ({ ...model, kind: monitor.get(model.provider)?.kind }));
    },
    usable,
  };
}
