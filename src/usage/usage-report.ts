import type { SqlRunner } from '../db/sql-runner.js';
import { badInput } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';

/** What usage rows can be grouped by, in the order rows are sorted. */
export const USAGE_GROUPS = ['DAY', 'MODEL', 'PROVIDER', 'API_KEY', 'USER'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** About 13 months: this year against last year's same month still fits. */
export const MAX_USAGE_SPAN_DAYS = 400;
/**
 * More rows than this is refused rather than cut: a truncated report would silently under-count.
 * 400 days by 25 models is 10,000.
 */
export const MAX_USAGE_ROWS = 10_000;
/** Far more than the five groups, so a client repeating one is not refused, yet bounded. */
const MAX_GROUP_ENTRIES = 16;
/** GraphQL's Int is 32 bits: a larger sum cannot be answered as the contract types it. */
const MAX_INT = 2_147_483_647;

export interface UsageQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Empty: one row with the totals. Repeats are ignored. */
  groupBy: readonly UsageGroup[];
  /** Only this user's events; null: everyone's. */
  userId: string | null;
}

export interface UsageRow {
  /** YYYY-MM-DD (UTC) when grouped by DAY; each grouping column is null unless grouped by. */
  day: string | null;
  model: string | null;
  provider: string | null;
  apiKeyId: string | null;
  userId: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Null when any event in the row has no known price. */
  costUsd: number | null;
}

/**
 * The grouping columns, by group: the only SQL a client's choice reaches, and it only picks among
 * these. Everything else is a bound parameter.
 */
const COLUMNS: Record<UsageGroup, { expression: string; alias: keyof UsageRow }> = {
  DAY: { expression: `to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, alias: 'day' },
  MODEL: { expression: '"model"', alias: 'model' },
  PROVIDER: { expression: '"provider"', alias: 'provider' },
  API_KEY: { expression: '"api_key_id"::text', alias: 'apiKeyId' },
  USER: { expression: '"user_id"::text', alias: 'userId' },
};

interface SummedRow {
  day?: string | null;
  model?: string | null;
  provider?: string | null;
  apiKeyId?: string | null;
  userId?: string | null;
  requests: string;
  promptTokens: string;
  completionTokens: string;
  costUsd: string | null;
}

/** Refuses a range the report will not read: backwards, empty, or longer than MAX_USAGE_SPAN_DAYS. */
export function checkUsageRange(from: Date, to: Date): void {
  if (!(to.getTime() > from.getTime())) throw badInput('usage needs `to` later than `from`', { field: 'to' });
  if (to.getTime() - from.getTime() > MAX_USAGE_SPAN_DAYS * 86_400_000) {
    throw badInput(`usage covers at most ${MAX_USAGE_SPAN_DAYS} days from \`from\` to \`to\``, {
      field: 'to',
      maxDays: MAX_USAGE_SPAN_DAYS,
    });
  }
}

/**
 * Sums usage events (the same rows budgets are settled from) over [from, to), grouped as asked.
 * One statement; the (user_id, created_at) and (created_at) indexes bound what it reads.
 */
export async function usageReport(sql: SqlRunner, query: UsageQuery): Promise<UsageRow[]> {
  checkUsageRange(query.from, query.to);
  if (query.groupBy.length > MAX_GROUP_ENTRIES) {
    throw badInput(`groupBy takes at most ${MAX_GROUP_ENTRIES} entries`, { field: 'groupBy', max: MAX_GROUP_ENTRIES });
  }
  const groups = USAGE_GROUPS.filter((group) => query.groupBy.includes(group));
  const selected = Prisma.raw(
    groups.map((group) => `${COLUMNS[group].expression} AS "${COLUMNS[group].alias}", `).join(''),
  );
  const expressions = Prisma.raw(groups.map((group) => COLUMNS[group].expression).join(', '));
  const rows = await sql.query<SummedRow>(Prisma.sql`
    SELECT ${selected}
      count(*)::text AS "requests",
      COALESCE(sum("prompt_tokens"), 0)::text AS "promptTokens",
      COALESCE(sum("completion_tokens"), 0)::text AS "completionTokens",
      CASE WHEN count("cost_usd") = count(*) THEN COALESCE(sum("cost_usd"), 0)::text END AS "costUsd"
    FROM "usage_events"
    WHERE "created_at" >= ${query.from}::timestamptz AND "created_at" < ${query.to}::timestamptz
      ${query.userId === null ? Prisma.empty : Prisma.sql`AND "user_id" = ${query.userId}::uuid`}
    ${groups.length === 0 ? Prisma.empty : Prisma.sql`GROUP BY ${expressions} ORDER BY ${expressions}`}
    LIMIT ${MAX_USAGE_ROWS + 1}::int`);
  if (rows.length > MAX_USAGE_ROWS) {
    throw badInput(`usage has more than ${MAX_USAGE_ROWS} rows here: ask for a shorter range or fewer groups`, {
      field: 'groupBy',
      maxRows: MAX_USAGE_ROWS,
    });
  }
  return rows.map(toUsageRow);
}

function toUsageRow(row: SummedRow): UsageRow {
  return {
    day: row.day ?? null,
    model: row.model ?? null,
    provider: row.provider ?? null,
    apiKeyId: row.apiKeyId ?? null,
    userId: row.userId ?? null,
    requests: toInt(row.requests),
    promptTokens: toInt(row.promptTokens),
    completionTokens: toInt(row.completionTokens),
    costUsd: row.costUsd === null ? null : Number(row.costUsd),
  };
}

function toInt(sum: string): number {
  const value = Number(sum);
  if (value > MAX_INT) {
    throw badInput('a usage sum is larger than a GraphQL Int carries: ask for a shorter range or group by DAY', {
      field: 'groupBy',
      max: MAX_INT,
    });
  }
  return value;
}
