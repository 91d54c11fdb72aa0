import type { SqlRunner } from '../db/sql-runner.js';
import { Prisma } from '../generated/prisma/client.js';
import type { SpendLedger } from './quota/types.js';

/**
 * The record budgets are rebuilt from: usage events, each written in the same statement as its
 * message's final row. Nano-dollars, rounded up per event as the counters add them.
 */
export function createSpendLedger(sql: SqlRunner): SpendLedger {
  return async (subject, from, to) => {
    const [kind, id] = subject.split(':');
    const column = kind === 'key' ? Prisma.raw('"api_key_id"') : Prisma.raw('"user_id"');
    const rows = await sql.query<{ nanos: string | null }>(Prisma.sql`
      SELECT sum(ceil("cost_usd" * 1000000000))::text AS nanos FROM "usage_events"
      WHERE ${column} = ${id}::uuid AND "created_at" >= ${from}::timestamptz AND "created_at" < ${to}::timestamptz
        AND "cost_usd" IS NOT NULL`);
    return Number(rows[0]?.nanos ?? 0);
  };
}
