import type { Plugin } from 'graphql-yoga';
import type { HealthService } from '../health/health-service.js';

/**
 * `/health/live`: 200 while the process serves requests.
 * `/health/ready`: 200 only when migrations are applied and the database answers; else 503 with the reason.
 */
export function useHealthRoutes(health: HealthService): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/health/live') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
      } else if (url.pathname === '/health/ready') {
        const { ready, reason, report } = await health.readiness();
        const body = { ready, reason, health: report };
        endResponse(fetchAPI.Response.json(body, { status: ready ? 200 : 503 }));
      }
    },
  };
}
