import { randomUUID } from 'node:crypto';
import type { SqlRunner } from '../db/sql-runner.js';
import { Prisma } from '../generated/prisma/client.js';
import type { TokenUsage } from '../providers/types.js';

/** A generation that is not stored as a message (a REST call): its usage event is the whole record. */
export interface CallUsage {
  userId: string;
  apiKeyId: string | null;
  provider: string;
  model: string;
  usage: TokenUsage;
  costNanos: number | null;
  status: 'COMPLETE' | 'FAILED' | 'CANCELLED';
  latencyMs: number;
  estimated: boolean;
}

export async function insertUsageEvent(sql: SqlRunner, call: CallUsage, now = new Date()): Promise<void> {
  // Exact decimal, as finishMessage writes it: the ledger sums nano-dollars back to the same integers.
  const cost = call.costNanos === null ? null : (call.costNanos / 1e9).toFixed(9);
  await sql.query(
    Prisma.sql`
    INSERT INTO "usage_events" ("id", "user_id", "api_key_id", "message_id", "provider", "model", "prompt_tokens",
      "completion_tokens", "cached_prompt_tokens", "cost_usd", "status", "latency_ms", "estimated", "created_at")
    VALUES (${randomUUID()}::uuid, ${call.userId}::uuid, ${call.apiKeyId}::uuid, NULL, ${call.provider}, ${call.model},
      ${call.usage.promptTokens}::int, ${call.usage.completionTokens}::int, ${call.usage.cachedPromptTokens ?? 0}::int,
      ${cost}::numeric, ${call.status}, ${call.latencyMs}::float8, ${call.estimated}, ${now}::timestamptz)`,
    { prepare: true },
  );
}
