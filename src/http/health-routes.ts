import { type Plugin, useReadinessCheck } from 'graphql-yoga';
import type { HealthService } from '../health/health-service.js';

/**
 * `/health/live`: 200 `{"status":"ok"}` while the process serves requests.
 * `/health/ready`: 200 only when migrations are applied and the database (and Redis, when set)
 * answers; else 503 with the reason. Both are yoga's readiness check answering with our JSON body.
 */
export function useHealthRoutes(health: HealthService): Plugin[] {
  return [
    useReadinessCheck({
      endpoint: '/health/live',
      check: ({ fetchAPI }) => fetchAPI.Response.json({ status: 'ok' }),
    }),
    useReadinessCheck({
      endpoint: '/health/ready',
      check: async ({ fetchAPI }) => {
        const { ready, reason, report } = await health.readiness();
        return fetchAPI.Response.json({ ready, reason, health: report }, { status: ready ? 200 : 503 });
      },
    }),
  ];
}
