import type { CatalogModel, CatalogProvider } from '../catalog/provider-catalog.js';
import { builder } from './builder.js';

const ProviderStatusEnum = builder.enumType('ProviderStatus', { values: ['UP', 'DEGRADED', 'DOWN', 'UNCONFIGURED'] });
const CircuitStateEnum = builder.enumType('CircuitState', { values: ['CLOSED', 'OPEN', 'HALF_OPEN'] });

const MOCK_NOTE = 'the built-in mock provider: deterministic canned replies, no language model behind them.';

export const ModelRef = builder.objectRef<CatalogModel>('Model').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    provider: t.exposeString('provider'),
    contextWindow: t.exposeInt('contextWindow', { nullable: true }),
    mock: t.boolean({
      description: `True for ${MOCK_NOTE}`,
      resolve: (model) => model.kind === 'mock',
    }),
  }),
});

export const ProviderHealthRef = builder.objectRef<CatalogProvider>('ProviderHealth').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.exposeString('kind', { description: 'openai, anthropic, ollama or mock: the adapter behind this name.' }),
    mock: t.boolean({ description: `True for ${MOCK_NOTE}`, resolve: (p) => p.kind === 'mock' }),
    status: t.field({ type: ProviderStatusEnum, resolve: (p) => p.status }),
    circuit: t.field({ type: CircuitStateEnum, resolve: (p) => p.circuit }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Latency of the last active probe.' }),
    ttftP50Ms: t.exposeFloat('ttftP50Ms', { nullable: true }),
    ttftP95Ms: t.exposeFloat('ttftP95Ms', { nullable: true }),
    errorRate: t.exposeFloat('errorRate', {
      description: 'Share of failed upstream calls in the recent window, 0..1.',
    }),
    inFlight: t.exposeInt('inFlight'),
    lastCheckedAt: t.expose('lastCheckedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    models: t.field({
      type: [ModelRef],
      description: 'Its models; for an API key limited to some models, only those.',
      resolve: (p, _args, ctx) =>
        p.models
          .filter((m) => ctx.services.catalog.usable(m, ctx.viewer.allowedModels))
          .map((m) => ({ ...m, kind: p.kind })),
    }),
  }),
});

builder.queryFields((t) => ({
  providers: t.field({
    type: [ProviderHealthRef],
    description: 'Every configured or known provider, with status aggregated by the router.',
    resolve: (_root, _args, ctx) => ctx.services.catalog.providers(),
  }),
  models: t.field({
    type: [ModelRef],
    args: { provider: t.arg.string() },
    description:
      'The models of one provider, or of every available one; for an API key limited to some models, only those.',
    resolve: (_root, args, ctx) => ctx.services.catalog.models(args.provider ?? undefined, ctx.viewer.allowedModels),
  }),
}));

builder.subscriptionField('providerHealth', (t) =>
  t.field({
    type: ProviderHealthRef,
    description: "Emits a provider's health whenever its status or circuit state changes.",
    subscribe: (_root, _args, ctx) => ctx.services.localEvents.subscribe('providerHealth'),
    resolve: (snapshot) => snapshot,
  }),
);
