import { Gauge, type Registry } from 'prom-client';

/**
 * Figures the server's parts already keep, read when /metrics is scraped: each read is O(1) or
 * O(providers), never a database query.
 */
export interface ScrapeSources {
  /** Generations running on this instance (GraphQL chats and REST calls). */
  openStreams?: () => number;
  /** Every configured provider's status as the health monitor sees it (UP, DEGRADED, DOWN, UNCONFIGURED). */
  providers?: () => readonly { name: string; status: string }[];
  /** Documents this instance's indexer holds: waiting for a slot, and being indexed. */
  indexing?: () => { queued: number; indexing: number };
  /** node-postgres' pool (Postgres, or the socket to embedded PGlite). */
  databasePool?: () => { total: number; idle: number; waiting: number };
}

const PROVIDER_STATUSES = ['UP', 'DEGRADED', 'DOWN'];

/** Registers the gauges; `sources` may be filled in later (the parts are built after the metrics). */
export function registerScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry];
  new Gauge({
    name: 'switchyard_streams_open',
    help: 'Generations running on this instance (GraphQL chats and REST calls)',
    registers,
    collect() {
      this.set(sources.openStreams?.() ?? 0);
    },
  });
  new Gauge({
    name: 'switchyard_provider_up',
    help: 'Per configured provider: 1 when the health monitor has it UP or DEGRADED, 0 when DOWN',
    labelNames: ['gen_ai_provider_name'],
    registers,
    collect() {
      this.reset();
      for (const { name, status } of sources.providers?.() ?? []) {
        if (PROVIDER_STATUSES.includes(status)) this.set({ gen_ai_provider_name: name }, status === 'DOWN' ? 0 : 1);
      }
    },
  });
  new Gauge({
    name: 'switchyard_provider_status',
    help: 'Per configured provider: 1 for its current status (UP, DEGRADED, DOWN), 0 for the others',
    labelNames: ['gen_ai_provider_name', 'status'],
    registers,
    collect() {
      this.reset();
      for (const { name, status } of sources.providers?.() ?? []) {
        if (!PROVIDER_STATUSES.includes(status)) continue;
        for (const each of PROVIDER_STATUSES) {
          this.set({ gen_ai_provider_name: name, status: each }, each === status ? 1 : 0);
        }
      }
    },
  });
  new Gauge({
    name: 'switchyard_indexing_documents',
    help: "Documents in this instance's indexer: queued (waiting for a slot) and indexing",
    labelNames: ['state'],
    registers,
    collect() {
      const depth = sources.indexing?.() ?? { queued: 0, indexing: 0 };
      this.set({ state: 'queued' }, depth.queued);
      this.set({ state: 'indexing' }, depth.indexing);
    },
  });
  new Gauge({
    name: 'switchyard_db_pool_connections',
    help: "The database pool's connections: total, idle, and queries waiting for one (waiting)",
    labelNames: ['state'],
    registers,
    collect() {
      const pool = sources.databasePool?.();
      if (!pool) return;
      this.set({ state: 'total' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
    },
  });
}
