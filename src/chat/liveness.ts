import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { MessageStreamStore } from './stream-store/types.js';

export interface Liveness {
  /** Marks orphaned generations INTERRUPTED now; `all` takes every STREAMING message (single-instance start-up). */
  sweep(options?: { all?: boolean }): Promise<string[]>;
  start(): void;
  stop(): void;
}

export interface LivenessDeps {
  db: Db;
  store: MessageStreamStore;
  logger: Logger;
  /** This process, as written in `messages.owner_id`. */
  instanceId: string;
  settings: ConfigFile['chat'];
  /** Generations running here right now. */
  running(): number;
}

const INTERRUPTED = 'The instance running this generation stopped before it finished';

/**
 * Every instance keeps its own generations' heartbeat fresh and ends other instances' stale
 * ones: a message whose owner died (kill -9) becomes FAILED with code INTERRUPTED within
 * `staleAfterMs + sweepIntervalMs`, and its subscribers get that terminal event.
 */
export function createLiveness({ db, store, logger, instanceId, settings, running }: LivenessDeps): Liveness {
  const timers: NodeJS.Timeout[] = [];

  const heartbeat = async () => {
    if (running() === 0) return;
    await db.message.updateMany({
      where: { ownerId: instanceId, status: 'STREAMING' },
      data: { heartbeatAt: new Date() },
    });
  };

  const sweep = async ({ all = false } = {}) => {
    const staleBefore = new Date(Date.now() - settings.staleAfterMs);
    const rows = await db.$queryRaw<{ id: string }[]>`
      UPDATE "messages"
         SET "status" = 'FAILED', "error_code" = 'INTERRUPTED', "error" = ${INTERRUPTED},
             "owner_id" = NULL, "updated_at" = now()
       WHERE "status" = 'STREAMING'
         AND (${all} OR ("heartbeat_at" < ${staleBefore} AND "owner_id" IS DISTINCT FROM ${instanceId}))
      RETURNING "id"`;
    for (const { id } of rows) {
      await store.end(id, { type: 'end', status: 'FAILED', code: 'INTERRUPTED', error: INTERRUPTED });
    }
    if (rows.length) logger.warn('marked interrupted generations', { count: rows.length });
    return rows.map((r) => r.id);
  };

  const every = (ms: number, task: () => Promise<unknown>, what: string) => {
    const timer = setInterval(() => task().catch((error) => logger.warn(`${what} failed`, { error })), ms);
    timer.unref();
    timers.push(timer);
  };

  return {
    sweep,
    start() {
      every(settings.heartbeatMs, heartbeat, 'heartbeat');
      every(settings.sweepIntervalMs, sweep, 'interrupted-generation sweep');
    },
    stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
    },
  };
}
