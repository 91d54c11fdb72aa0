import type { ComponentHealth, HealthReport } from '../health/health-service.js';
import { builder } from './builder.js';
import { ProviderHealthRef } from './provider.js';

const ComponentHealthRef = builder.objectRef<ComponentHealth>('ComponentHealth').implement({
  fields: (t) => ({
    status: t.exposeString('status'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

export const HealthRef = builder.objectRef<HealthReport>('Health').implement({
  fields: (t) => ({
    status: t.exposeString('status', { description: 'ok, degraded or down' }),
    database: t.field({ type: ComponentHealthRef, resolve: (report) => report.database }),
    redis: t.field({
      type: ComponentHealthRef,
      nullable: true,
      description: 'Null when no Redis is configured.',
      resolve: (report) => report.redis,
    }),
    providers: t.field({
      type: [ProviderHealthRef],
      resolve: (_report, _args, ctx) => ctx.services.catalog.providers(),
    }),
  }),
});

builder.queryField('health', (t) =>
  t.field({ type: HealthRef, resolve: (_root, _args, ctx) => ctx.services.health.report() }),
);
