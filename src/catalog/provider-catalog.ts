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
  /** The models of one provider, or of every available one. */
  models(provider?: string): Promise<CatalogModel[]>;
}

export function createProviderCatalog({
  router,
  monitor,
}: Pick<ProviderGateway, 'router' | 'monitor'>): ProviderCatalog {
  return {
    providers: () => monitor.snapshot(),
    async models(provider) {
      const models = await router.listModels(provider);
      return models.map((model) => ({ ...model, kind: monitor.get(model.provider)?.kind }));
    },
  };
}
