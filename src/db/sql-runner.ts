import type pg from 'pg';
import type { Prisma } from '../generated/prisma/client.js';

/**
 * Runs a raw statement straight on the connection pool, for the hottest statements (search, the
 * indexer's chunk batches, a chat turn's two writes), where Prisma's per-query work (compiling,
 * mapping arguments and rows) cost about 0.4 ms of a 2 ms search. Rows come back as
 * node-postgres makes them (our timestamps are all `timestamptz`, so they read the same as
 * through Prisma). Statements are built with `Prisma.sql`: values are always bound, never
 * spliced in.
 */
export interface SqlRunner {
  query<T>(statement: Prisma.Sql): Promise<T[]>;
}

export function createSqlRunner(pool: pg.Pool): SqlRunner {
  return {
    async query<T>(statement: Prisma.Sql) {
      const result = await pool.query(statement.text, statement.values);
      return result.rows as T[];
    },
  };
}
