import type { Database } from '../db/database.js';
import type { RedisClients } from '../pubsub/redis-clients.js';
import { describeFailure } from './describe-failure.js';

export interface ComponentHealth {
  status: 'ok' | 'down';
  latencyMs: number | null;
  error: string | null;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  database: ComponentHealth;
  /** Null when no Redis is configured. */
  redis: ComponentHealth | null;
}

export interface HealthService {
  report(): Promise<HealthReport>;
  /** Ready means: migrations applied and the database answering (providers do not gate readiness). */
  readiness(): Promise<{ ready: boolean; reason?: string; report: HealthReport }>;
}

export interface HealthServiceDeps {
  database: Database;
  redis: RedisClients | undefined;
  isBootstrapped(): boolean;
  /** True once shutdown began: not ready, so a load balancer sends new work elsewhere. */
  isDraining?(): boolean;
  /** The providers' aggregate, as the router's health monitor sees it. */
  providersStatus(): 'ok' | 'degraded' | 'down';
  timeoutMs?: number;
}

export function createHealthService({
  database,
  redis,
  isBootstrapped,
  isDraining = () => false,
  providersStatus,
  timeoutMs = 2_000,
}: HealthServiceDeps) {
  const probe = async (check: () => Promise<number>): Promise<ComponentHealth> => {
    try {
      return { status: 'ok', latencyMs: await check(), error: null };
    } catch (error) {
      return { status: 'down', latencyMs: null, error: describeFailure(error) };
    }
  };

  const measure = async (): Promise<HealthReport> => {
    const [db, cache] = await Promise.all([
      probe(() => database.ping(timeoutMs)),
      redis ? probe(() => redis.ping(timeoutMs)) : Promise.resolve(null),
    ]);
    const providers = providersStatus();
    const status =
      db.status === 'down' || providers === 'down'
        ? 'down'
        : cache?.status === 'down' || providers === 'degraded'
          ? 'degraded'
          : 'ok';
    return { status, database: db, redis: cache };
  };

  // Callers at the same moment (10,000 aliases of `health`, probes from every load balancer) share one probe.
  let running: Promise<HealthReport> | undefined;
  const report = (): Promise<HealthReport> => {
    running ??= measure().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    report,
    async readiness() {
      const current = await report();
      if (isDraining()) return { ready: false, reason: 'shutting down', report: current };
      if (!isBootstrapped()) return { ready: false, reason: 'migrations are not applied yet', report: current };
      if (current.database.status === 'down') {
        return { ready: false, reason: `database unreachable: ${current.database.error}`, report: current };
      }
      // Generations go on without Redis, but other instances' subscribers and limits depend on it.
      if (current.redis?.status === 'down') return { ready: false, reason: 'redis unreachable', report: current };
      return { ready: true, report: current };
    },
  } satisfies HealthService;
}
