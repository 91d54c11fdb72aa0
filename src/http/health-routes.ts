import type { Plugin } from 'graphql-yoga';
import type { HealthService } from '../health/health-service.js';

/**
 * `/health/live`: 200 `{"status":"ok"}` while the process serves requests.
 * `/health/ready`: 200 only when migrations are applied and the database (and Redis, when set)
 * answers; else 503 with the reason. Matched on the exact path: yoga's readiness check, used
 * before, also matched any URL ending in the path (a query string too) and ran a URLPattern on
 * every other request, twice (~40 µs per GraphQL request).
 */
export function useHealthRoutes(health: HealthService): Plugin {
  return {
    onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname === '/health/live') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
        return;
      }
      if (url.pathname !== '/health/ready') return;
      return health.readiness().then(
        ({ ready, reason, report }) =>
          endResponse(fetchAPI.Response.json({ ready, reason, health: report }, { status: ready ? 200 : 503 })),
        // A check that throws is a bug, not a state: not ready, without its message on a public route.
        () => endResponse(fetchAPI.Response.json({ ready: false, reason: 'readiness check failed' }, { status: 503 })),
      );
    },
  };
}
