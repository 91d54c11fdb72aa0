import { randomUUID } from 'node:crypto';
import type { SqlRunner } from '../db/sql-runner.js';
import { type Conversation, type Message, Prisma } from '../generated/prisma/client.js';
import type { TokenUsage } from '../providers/types.js';
import type { StoredToolCall, StoredToolResult } from './chat-history.js';

/** The rows a new turn writes: its conversation (new or touched), the user's message, the reply to come. */
export interface NewTurn {
  userId: string;
  /** An existing conversation, or undefined to create one with `title`. */
  conversation: Conversation | undefined;
  title: string;
  systemPrompt: string | null;
  model: string;
  content: string;
  /** Tokens of the prompt as counted for the context window. */
  contextTokens: number;
  /** The instance that will run the generation. */
  ownerId: string;
  citations: { chunkId: string; documentId: string; score: number }[];
  /** Finished messages stored before `content`, oldest first (a REST request's earlier turns). */
  prior?: readonly PriorMessage[] | undefined;
}

/** A finished message a turn stores before its user message (text only). */
export interface PriorMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface TurnRows {
  conversation: Conversation;
  userMessage: Message;
  assistantMessage: Message;
  /** The turn's `prior` messages, when it had any. */
  priorMessages?: Message[];
}

const blankMessage = {
  provider: null,
  promptTokens: null,
  completionTokens: null,
  ttftMs: null,
  latencyMs: null,
  finishReason: null,
  error: null,
  errorCode: null,
  costUsd: null,
  lastSeq: 0,
  toolCalls: null,
  toolResults: null,
  turnOptions: null,
} as const;

/**
 * The rows of a new turn, with ids made here: the generation can start (and stream) before
 * they are written, and the caller gets them without reading them back.
 */
export function planTurn(turn: NewTurn, now = new Date()): TurnRows {
  const { userId } = turn;
  const conversation: Conversation = turn.conversation
    ? { ...turn.conversation, systemPrompt: turn.systemPrompt, model: turn.model, updatedAt: now }
    : {
        id: randomUUID(),
        userId,
        title: turn.title,
        systemPrompt: turn.systemPrompt,
        model: turn.model,
        createdAt: now,
        updatedAt: now,
      };
  const common = { ...blankMessage, conversationId: conversation.id, userId, updatedAt: now };
  const prior = turn.prior ?? [];
  // Prior messages a millisecond apart before the user's message, so the turn keeps its order.
  const at = (offset: number) => new Date(now.getTime() + offset);
  const rows: TurnRows = {
    conversation,
    userMessage: {
      ...common,
      id: randomUUID(),
      role: 'USER',
      content: turn.content,
      status: 'COMPLETE',
      model: null,
      contextTokens: null,
      ownerId: null,
      heartbeatAt: null,
      createdAt: at(prior.length),
    },
    assistantMessage: {
      ...common,
      id: randomUUID(),
      role: 'ASSISTANT',
      content: '',
      status: 'STREAMING',
      model: turn.model,
      contextTokens: turn.contextTokens,
      ownerId: turn.ownerId,
      heartbeatAt: now,
      // One millisecond after the user's message, so the pair keeps its order.
      createdAt: at(prior.length + 1),
    },
  };
  if (prior.length > 0) {
    rows.priorMessages = prior.map((message, i) => ({
      ...common,
      id: randomUUID(),
      role: message.role === 'user' ? 'USER' : 'ASSISTANT',
      content: message.content,
      status: 'COMPLETE',
      model: null,
      contextTokens: null,
      ownerId: null,
      heartbeatAt: null,
      createdAt: at(i),
    }));
  }
  return rows;
}

/**
 * Writes a planned turn in one statement (so all of it or none of it lands): the conversation,
 * both messages, the citations. Resolves false when the existing conversation is gone.
 */
export async function insertTurn(sql: SqlRunner, rows: TurnRows, isNew: boolean, turn: NewTurn): Promise<boolean> {
  const { conversation: c, userMessage: u, assistantMessage: a } = rows;
  const priorMessages = rows.priorMessages ?? [];
  const prior =
    priorMessages.length === 0
      ? Prisma.empty
      : Prisma.sql`${Prisma.join(
          priorMessages.map(
            (p) => Prisma.sql`(${p.id}::uuid, ${p.userId}::uuid, ${p.role}, ${p.content}, 'COMPLETE', NULL::text,
              NULL::int, NULL::text, NULL::timestamptz, ${p.createdAt}::timestamptz, ${p.updatedAt}::timestamptz)`,
          ),
        )},`;
  const conversation = isNew
    ? Prisma.sql`INSERT INTO "conversations" ("id", "user_id", "title", "system_prompt", "model", "created_at", "updated_at")
        VALUES (${c.id}::uuid, ${c.userId}::uuid, ${c.title}, ${c.systemPrompt}, ${c.model}, ${c.createdAt}, ${c.updatedAt})
        RETURNING "id"`
    : Prisma.sql`UPDATE "conversations" SET "updated_at" = ${c.updatedAt}, "system_prompt" = ${c.systemPrompt}, "model" = ${c.model}
        WHERE "id" = ${c.id}::uuid AND "user_id" = ${c.userId}::uuid
        RETURNING "id"`;
  const citations =
    turn.citations.length === 0
      ? Prisma.empty
      : Prisma.sql`, cited AS (
          INSERT INTO "citations" ("id", "message_id", "chunk_id", "document_id", "score", "ordinal")
          SELECT v.id, v.message_id, v.chunk_id, v.document_id, v.score, v.ordinal
          FROM (VALUES ${Prisma.join(
            turn.citations.map(
              (cite, i) =>
                Prisma.sql`(${randomUUID()}::uuid, ${a.id}::uuid, ${cite.chunkId}::uuid, ${cite.documentId}::uuid, ${cite.score}::float8, ${i + 1}::int)`,
            ),
          )}) AS v(id, message_id, chunk_id, document_id, score, ordinal)
          WHERE EXISTS (SELECT 1 FROM conversation)
        )`;
  // Messages are inserted only when the conversation row was: a conversation deleted meanwhile
  // leaves nothing behind.
  const result = await sql.query<{ written: number }>(
    Prisma.sql`
    WITH conversation AS (${conversation}),
    messages AS (
      INSERT INTO "messages" ("id", "conversation_id", "user_id", "role", "content", "status", "model",
        "context_tokens", "owner_id", "heartbeat_at", "created_at", "updated_at")
      SELECT v.id, conversation.id, v.user_id, v.role::"Role", v.content, v.status::"MessageStatus", v.model,
        v.context_tokens, v.owner_id, v.heartbeat_at, v.created_at, v.updated_at
      FROM conversation, (VALUES ${prior}
        (${u.id}::uuid, ${u.userId}::uuid, 'USER', ${u.content}, 'COMPLETE', NULL::text, NULL::int, NULL::text,
          NULL::timestamptz, ${u.createdAt}::timestamptz, ${u.updatedAt}::timestamptz),
        (${a.id}::uuid, ${a.userId}::uuid, 'ASSISTANT', '', 'STREAMING', ${a.model}::text, ${a.contextTokens}::int,
          ${a.ownerId}::text, ${a.heartbeatAt}::timestamptz, ${a.createdAt}::timestamptz, ${a.updatedAt}::timestamptz)
      ) AS v(id, user_id, role, content, status, model, context_tokens, owner_id, heartbeat_at, created_at, updated_at)
      RETURNING 1
    )${citations}
    SELECT count(*)::int AS written FROM messages`,
    { prepare: priorMessages.length === 0 && turn.citations.length === 0 },
  );
  return (result[0]?.written ?? 0) > 0;
}

/** How a generation ended, as its message row keeps it. */
export interface GenerationOutcome {
  messageId: string;
  content: string;
  status: 'COMPLETE' | 'FAILED' | 'CANCELLED' | 'REQUIRES_ACTION';
  /**
   * The calls a REQUIRES_ACTION reply asks the client to run, and what continuing needs again;
   * with builtin calls of the same step (marked) and their `results`, run by the gateway already.
   */
  toolCalls?: { calls: StoredToolCall[]; results?: StoredToolResult[] | null; turnOptions: unknown } | undefined;
  /** Sources the gateway's own tools returned, numbered after the turn's `firstOrdinal - 1` citations. */
  toolCitations?: { cited: { chunkId: string; documentId: string; score: number }[]; firstOrdinal: number } | undefined;
  provider: string | null;
  model: string | null;
  /** Reported by the provider, or counted by the gateway (`estimated`); null: nothing to charge. */
  usage: TokenUsage | null;
  estimated: boolean;
  /** Nano-dollars; null when the model has no known price. */
  costNanos: number | null;
  /** The key the generation is charged to, for the usage event. */
  apiKeyId: string | null;
  ttftMs: number | null;
  latencyMs: number;
  finishReason: string | null;
  error: string | null;
  errorCode: string | null;
  lastSeq: number;
}

/** A message row under its Prisma field names, for RETURNING. */
const MESSAGE_FIELDS = Prisma.raw(
  [
    ['id', 'id'],
    ['conversation_id', 'conversationId'],
    ['user_id', 'userId'],
    ['role', 'role'],
    ['content', 'content'],
    ['status', 'status'],
    ['provider', 'provider'],
    ['model', 'model'],
    ['prompt_tokens', 'promptTokens'],
    ['completion_tokens', 'completionTokens'],
    ['context_tokens', 'contextTokens'],
    ['cost_usd', 'costUsd'],
    ['ttft_ms', 'ttftMs'],
    ['latency_ms', 'latencyMs'],
    ['finish_reason', 'finishReason'],
    ['error', 'error'],
    ['error_code', 'errorCode'],
    ['last_seq', 'lastSeq'],
    ['owner_id', 'ownerId'],
    ['heartbeat_at', 'heartbeatAt'],
    ['tool_calls', 'toolCalls'],
    ['tool_results', 'toolResults'],
    ['turn_options', 'turnOptions'],
    ['created_at', 'createdAt'],
    ['updated_at', 'updatedAt'],
  ]
    .map(([column, field]) => `"${column}" AS "${field}"`)
    .join(', '),
);

/**
 * Writes a generation's end in one statement: the message's final row (only while it is still
 * STREAMING) and, with it, the usage event. Resolves with the row as written, or null when the
 * message was deleted or already ended by someone else.
 */
export async function finishMessage(
  sql: SqlRunner,
  outcome: GenerationOutcome,
  now = new Date(),
): Promise<Message | null> {
  const { usage, provider, model } = outcome;
  // Exact decimal: nano-dollars are whole, and the ledger sums them back to the same integers.
  const cost = outcome.costNanos === null ? null : (outcome.costNanos / 1e9).toFixed(9);
  const usageEvent =
    usage && provider && model
      ? Prisma.sql`, used AS (
          INSERT INTO "usage_events" ("id", "user_id", "api_key_id", "message_id", "provider", "model", "prompt_tokens",
            "completion_tokens", "cached_prompt_tokens", "cost_usd", "status", "latency_ms", "estimated", "created_at")
          SELECT ${randomUUID()}::uuid, "userId", ${outcome.apiKeyId}::uuid, "id", ${provider}, ${model},
            ${usage.promptTokens}::int, ${usage.completionTokens}::int, ${usage.cachedPromptTokens ?? 0}::int,
            ${cost}::numeric, ${outcome.status}, ${outcome.latencyMs}::float8, ${outcome.estimated}, ${now}::timestamptz
          FROM finished
        )`
      : Prisma.empty;
  const cited = outcome.toolCitations?.cited ?? [];
  const citations =
    cited.length === 0
      ? Prisma.empty
      : Prisma.sql`, cited AS (
          INSERT INTO "citations" ("id", "message_id", "chunk_id", "document_id", "score", "ordinal")
          SELECT v.id, finished.id, v.chunk_id, v.document_id, v.score, v.ordinal
          FROM finished, (VALUES ${Prisma.join(
            cited.map(
              (cite, i) =>
                Prisma.sql`(${randomUUID()}::uuid, ${cite.chunkId}::uuid, ${cite.documentId}::uuid, ${cite.score}::float8, ${(outcome.toolCitations?.firstOrdinal ?? 1) + i}::int)`,
            ),
          )}) AS v(id, chunk_id, document_id, score, ordinal)
          WHERE EXISTS (SELECT 1 FROM "chunks" WHERE "chunks"."id" = v.chunk_id)
        )`;
  const toolCalls = outcome.toolCalls ? JSON.stringify(outcome.toolCalls.calls) : null;
  const turnOptions = outcome.toolCalls ? JSON.stringify(outcome.toolCalls.turnOptions) : null;
  const toolResults = outcome.toolCalls?.results ? JSON.stringify(outcome.toolCalls.results) : null;
  const rows = await sql.query<Message>(
    Prisma.sql`
    WITH finished AS (
      UPDATE "messages" SET
        "content" = ${outcome.content},
        "status" = ${outcome.status}::"MessageStatus",
        "provider" = ${provider},
        "model" = ${model},
        "prompt_tokens" = ${usage?.promptTokens ?? null}::int,
        "completion_tokens" = ${usage?.completionTokens ?? null}::int,
        "cost_usd" = ${cost}::numeric,
        "ttft_ms" = ${outcome.ttftMs}::float8,
        "latency_ms" = ${outcome.latencyMs}::float8,
        "finish_reason" = ${outcome.finishReason},
        "error" = ${outcome.error},
        "error_code" = ${outcome.errorCode},
        "last_seq" = ${outcome.lastSeq}::int,
        "tool_calls" = ${toolCalls}::jsonb,
        "turn_options" = ${turnOptions}::jsonb,
        "tool_results" = ${toolResults}::jsonb,
        "owner_id" = NULL,
        "updated_at" = ${now}::timestamptz
      WHERE "id" = ${outcome.messageId}::uuid AND "status" = 'STREAMING'
      RETURNING ${MESSAGE_FIELDS}
    )${usageEvent}${citations}
    SELECT * FROM finished`,
    { prepare: cited.length === 0 },
  );
  return rows[0] ?? null;
}
