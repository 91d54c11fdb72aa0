import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { CrashTails, MessageStreamStore } from '../stream-store/types.js';

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
  /** What a dead instance streamed after its last partial write. */
  tails: CrashTails;
}

const INTERRUPTED = 'The instance running this generation stopped before it finished';

/**
 * Every instance keeps its own generations' heartbeat fresh and ends other instances' stale
 * ones: a message whose owner died (kill -9) becomes FAILED with code INTERRUPTED within
 * `staleAfterMs + sweepIntervalMs`, and its subscribers get that terminal event. The stored text
 * is never shorter than what they were sent: the text streamed after the last partial write is
 * recovered (shared stream or journal) and stored with the INTERRUPTED row, before the end event.
 */
export function createLiveness({ db, store, logger, instanceId, settings, running, tails }: LivenessDeps): Liveness {
  const timers: NodeJS.Timeout[] = [];

  const heartbeat = async () => {
    if (running() === 0) return;
    // In id order, as the partial writer locks them (see partial-writer.ts).
    await db.$executeRaw`
      WITH locked AS (
        SELECT "id" FROM "messages" WHERE "owner_id" = ${instanceId} AND "status" = 'STREAMING'
        ORDER BY "id" FOR UPDATE
      )
      UPDATE "messages" AS m SET "heartbeat_at" = now() FROM locked WHERE m."id" = locked."id"`;
  };

  const sweep = async ({ all = false } = {}) => {
    const staleBefore = new Date(Date.now() - settings.staleAfterMs);
    const orphans = await db.$queryRaw<{ id: string; last_seq: number }[]>`
      SELECT "id", "last_seq" FROM "messages"
       WHERE "status" = 'STREAMING'
         AND (${all} OR ("heartbeat_at" < ${staleBefore} AND "owner_id" IS DISTINCT FROM ${instanceId}))`;
    const swept: string[] = [];
    for (const orphan of orphans) {
      const tail = await tails.tail(orphan.id, orphan.last_seq).catch((error: unknown) => {
        logger.warn('could not recover the streamed tail of an interrupted generation', { id: orphan.id, error });
        return undefined;
      });
      // Only while nothing moved since the read: another sweeper, or an owner alive after all, wins.
      const rows = await db.$queryRaw<{ id: string }[]>`
        UPDATE "messages"
           SET "status" = 'FAILED', "error_code" = 'INTERRUPTED', "error" = ${INTERRUPTED},
               "content" = "content" || ${tail?.text ?? ''}, "last_seq" = ${tail?.lastSeq ?? orphan.last_seq}::int,
               "owner_id" = NULL, "updated_at" = now()
         WHERE "id" = ${orphan.id}::uuid AND "status" = 'STREAMING' AND "last_seq" = ${orphan.last_seq}::int
           AND (${all} OR ("heartbeat_at" < ${staleBefore} AND "owner_id" IS DISTINCT FROM ${instanceId}))
        RETURNING "id"`;
      if (rows.length === 0) continue;
      tails.forget(orphan.id);
      // After the row: a reader who sees this end finds the full text stored.
      await store.end({ kind: 'failed', messageId: orphan.id, code: 'INTERRUPTED', error: INTERRUPTED });
      swept.push(orphan.id);
    }
    if (all) tails.prune();
    if (swept.length) logger.warn('marked interrupted generations', { count: swept.length });
    return swept;
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
