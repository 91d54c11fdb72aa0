import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, postgresUrl } from '../../test/helpers/postgres.js';
import { Prisma } from '../generated/prisma/client.js';
import { createSqlRunner } from './sql-runner.js';

describe.skipIf(!postgresUrl)('sql runner on Postgres', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let pool: pg.Pool;
  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
    // One connection: what the session has prepared is what every query of the test sees.
    pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await scratch?.drop();
  });

  const prepared = async () =>
    (
      await pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time')
    ).rows.map((row) => row.statement);

  it("names a statement asked to be prepared once, runs it with each call's values, and leaves others unnamed", async () => {
    const sql = createSqlRunner(pool, { maxPrepared: 2 });
    const plusOne = (n: number) => Prisma.sql`SELECT ${n}::int + 1 AS n`;
    expect(await sql.query(plusOne(1), { prepare: true })).toEqual([{ n: 2 }]);
    expect(await sql.query(plusOne(41), { prepare: true })).toEqual([{ n: 42 }]);
    expect(await sql.query(Prisma.sql`SELECT ${'unnamed'}::text AS s`)).toEqual([{ s: 'unnamed' }]);
    expect(await prepared()).toEqual([plusOne(0).text]);
  });

  it('runs texts past its bound unnamed, so the server keeps a bounded number of them', async () => {
    const sql = createSqlRunner(pool, { maxPrepared: 1 });
    const first = Prisma.sql`SELECT ${1}::int * 2 AS n`;
    const second = Prisma.sql`SELECT ${1}::int * 3 AS n`;
    await sql.query(first, { prepare: true });
    expect(await sql.query(second, { prepare: true })).toEqual([{ n: 3 }]);
    expect(await sql.query(second, { prepare: true })).toEqual([{ n: 3 }]);
    const statements = await prepared();
    expect(statements).toContain(first.text);
    expect(statements).not.toContain(second.text);
  });

  it('keeps a prepared statement usable after one of its runs failed', async () => {
    const sql = createSqlRunner(pool, { maxPrepared: 4 });
    const divide = (by: number) => Prisma.sql`SELECT 10 / ${by}::int AS n`;
    await expect(sql.query(divide(0), { prepare: true })).rejects.toThrow(/division by zero/);
    expect(await sql.query(divide(5), { prepare: true })).toEqual([{ n: 2 }]);
  });
});
