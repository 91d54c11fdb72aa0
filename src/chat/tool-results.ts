import { randomUUID } from 'node:crypto';
import type { SqlRunner } from '../db/sql-runner.js';
import { badInput } from '../errors.js';
import { type Message, Prisma } from '../generated/prisma/client.js';
import type { ToolCall } from '../providers/types.js';
import type { StoredToolResult } from './chat-history.js';

/** Per result, the output as text (JSON is stored serialized). */
export const MAX_TOOL_RESULT_CHARS = 64 * 1024;

/**
 * The client's answers to a message's calls, as stored: every call answered exactly once, in the
 * calls' order, each within MAX_TOOL_RESULT_CHARS. Anything else is BAD_USER_INPUT.
 */
export function checkToolResults(
  calls: readonly ToolCall[],
  results: readonly { toolCallId: string; content?: unknown }[],
): StoredToolResult[] {
  if (results.length > calls.length) {
    throw badInput(`${results.length} results were sent for ${calls.length} tool calls`, { field: 'results' });
  }
  const byId = new Map<string, string>();
  for (const result of results) {
    const id = result.toolCallId;
    if (!calls.some((call) => call.id === id)) {
      throw badInput(`${id.slice(0, 100)} is not a tool call of this message`, { field: 'results', toolCallId: id });
    }
    if (byId.has(id)) throw badInput(`tool call ${id} is answered twice`, { field: 'results', toolCallId: id });
    const content = typeof result.content === 'string' ? result.content : JSON.stringify(result.content ?? null);
    if (content.length > MAX_TOOL_RESULT_CHARS) {
      throw badInput(
        `the result of ${id} is ${content.length} characters; at most ${MAX_TOOL_RESULT_CHARS} are allowed`,
        {
          field: 'results',
          toolCallId: id,
        },
      );
    }
    byId.set(id, content);
  }
  const missing = calls.filter((call) => !byId.has(call.id)).map((call) => call.id);
  if (missing.length > 0) {
    throw badInput(`tool calls ${missing.join(', ')} have no result`, { field: 'results', missing });
  }
  return calls.map((call) => ({ toolCallId: call.id, content: byId.get(call.id) as string }));
}

/**
 * Writes a continuation in one statement: the results on the message that asked (only while it
 * is still REQUIRES_ACTION, so a message is answered once) and the next assistant message,
 * STREAMING. Resolves false when the message was answered, deleted or moved on meanwhile.
 */
export async function insertContinuation(
  sql: SqlRunner,
  answered: Pick<Message, 'id' | 'userId'>,
  results: StoredToolResult[],
  next: Message,
): Promise<boolean> {
  const now = next.updatedAt;
  const rows = await sql.query<{ written: number }>(
    Prisma.sql`
    WITH answered AS (
      UPDATE "messages" SET "tool_results" = ${JSON.stringify(results)}::jsonb, "status" = 'COMPLETE',
        "updated_at" = ${now}::timestamptz
      WHERE "id" = ${answered.id}::uuid AND "user_id" = ${answered.userId}::uuid AND "status" = 'REQUIRES_ACTION'
      RETURNING "conversation_id"
    ),
    touched AS (
      UPDATE "conversations" SET "updated_at" = ${now}::timestamptz
      WHERE "id" IN (SELECT "conversation_id" FROM answered)
      RETURNING "id"
    ),
    inserted AS (
      INSERT INTO "messages" ("id", "conversation_id", "user_id", "role", "content", "status", "model",
        "context_tokens", "owner_id", "heartbeat_at", "created_at", "updated_at")
      SELECT ${next.id}::uuid, touched.id, ${next.userId}::uuid, 'ASSISTANT', '', 'STREAMING', ${next.model}::text,
        ${next.contextTokens}::int, ${next.ownerId}::text, ${next.heartbeatAt}::timestamptz,
        ${next.createdAt}::timestamptz, ${now}::timestamptz
      FROM touched
      RETURNING 1
    )
    SELECT count(*)::int AS written FROM inserted`,
    { prepare: true },
  );
  return (rows[0]?.written ?? 0) > 0;
}

/** The next assistant message's row, made here so the generation can start before it is written. */
export function planContinuation(
  answered: Message,
  options: { model: string; contextTokens: number; ownerId: string },
  now = new Date(),
): Message {
  return {
    ...answered,
    id: randomUUID(),
    content: '',
    status: 'STREAMING',
    provider: null,
    model: options.model,
    promptTokens: null,
    completionTokens: null,
    contextTokens: options.contextTokens,
    costUsd: null,
    ttftMs: null,
    latencyMs: null,
    finishReason: null,
    error: null,
    errorCode: null,
    lastSeq: 0,
    ownerId: options.ownerId,
    heartbeatAt: now,
    toolCalls: null,
    toolResults: null,
    turnOptions: null,
    createdAt: now,
    updatedAt: now,
  };
}
