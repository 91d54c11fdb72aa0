import type { Db } from '../db/database.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';

export interface PartialWriter {
  /** Records a message's text so far; written at the next flush. */
  set(messageId: string, partial: { content: string; seq: number }): void;
  delete(messageId: string): void;
  /** Starts the flush timer (idempotent). */
  start(): void;
  stop(): void;
}

/**
 * Saves the partial text of every streaming message on this instance in one UPDATE per
 * interval, so a crash loses at most `intervalMs` of text and a thousand open streams cost one
 * statement a second rather than a thousand.
 */
export function createPartialWriter({ db, logger, intervalMs }: { db: Db; logger: Logger; intervalMs: number }) {
  const pending = new Map<string, { content: string; seq: number }>();
  let timer: NodeJS.Timeout | undefined;
  let flushing = false;

  const flush = async () => {
    if (flushing || pending.size === 0) return;
    flushing = true;
    const batch = [...pending];
    pending.clear();
    try {
      const rows = batch.map(([id, p]) => Prisma.sql`(${id}::uuid, ${p.content}, ${p.seq}::int)`);
      // Rows are locked in id order, as the heartbeat locks them: two multi-row updates of the same
      // messages taking their locks in different orders deadlock.
      await db.$executeRaw`
        WITH v(id, content, seq) AS (VALUES ${Prisma.join(rows)}),
        locked AS (
          SELECT "id" FROM "messages" WHERE "id" IN (SELECT id FROM v) AND "status" = 'STREAMING'
          ORDER BY "id" FOR UPDATE
        )
        UPDATE "messages" AS m SET "content" = v.content, "last_seq" = v.seq, "heartbeat_at" = now()
          FROM v, locked
         WHERE m."id" = v.id AND m."id" = locked."id" AND m."status" = 'STREAMING'`;
    } catch (error) {
      logger.warn('could not save partial text', { messages: batch.length, error });
    } finally {
      flushing = false;
    }
  };

  return {
    set: (messageId, partial) => pending.set(messageId, partial),
    delete: (messageId) => pending.delete(messageId),
    start() {
      if (timer) return;
      timer = setInterval(flush, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  } satisfies PartialWriter;
}
