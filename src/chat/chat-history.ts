import type { Db } from '../db/database.js';
import type { ChatMessage, ToolCall } from '../providers/types.js';

/** A tool call's answer as stored on the message that asked for it. */
export interface StoredToolResult {
  toolCallId: string;
  content: string;
}

/** A call as stored on its message; `builtin`: the gateway ran it (its result is stored already). */
export interface StoredToolCall extends ToolCall {
  builtin?: boolean;
}

/** The calls a message asks the client to answer: the builtin ones were run by the gateway. */
export function clientCalls(stored: unknown): ToolCall[] {
  return listOf<StoredToolCall>(stored).filter((call) => !call.builtin);
}

/**
 * Every call of a message answered, in the calls' order: the gateway's results already stored
 * on it with the client's new ones.
 */
export function allResults(
  message: { toolCalls: unknown; toolResults: unknown },
  answered: readonly StoredToolResult[],
): StoredToolResult[] {
  const byId = new Map<string, StoredToolResult>();
  for (const result of [...listOf<StoredToolResult>(message.toolResults), ...answered])
    byId.set(result.toolCallId, result);
  return listOf<StoredToolCall>(message.toolCalls).flatMap((call) => byId.get(call.id) ?? []);
}

interface HistoryRow {
  role: string;
  content: string;
  toolCalls: unknown;
  toolResults: unknown;
}

const listOf = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

/**
 * A stored message as the provider sees it again: an answered tool turn is the assistant's calls
 * followed by one `tool` message per result; calls never answered (a message still waiting for
 * the client, whose builtin calls were answered) are left out, since a provider refuses calls
 * without results, keeping any text the reply had.
 */
export function historyMessages(row: HistoryRow): ChatMessage[] {
  if (row.role === 'USER') return [{ role: 'user', content: row.content }];
  const results = listOf<StoredToolResult>(row.toolResults);
  const answered = new Set(results.map((result) => result.toolCallId));
  const calls = listOf<StoredToolCall>(row.toolCalls)
    .filter((call) => answered.has(call.id))
    .map(({ id, name, arguments: args }): ToolCall => ({ id, name, arguments: args }));
  if (calls.length === 0) return row.content === '' ? [] : [{ role: 'assistant', content: row.content }];
  const called = new Set(calls.map((call) => call.id));
  return [
    { role: 'assistant', content: row.content, toolCalls: calls },
    ...results
      .filter((result) => called.has(result.toolCallId))
      .map((result): ChatMessage => ({ role: 'tool', toolCallId: result.toolCallId, content: result.content })),
  ];
}

/** The conversation's finished turns, oldest first; `before`: only messages created earlier. */
export async function readHistory(db: Db, conversationId: string, before?: Date): Promise<ChatMessage[]> {
  const rows = await db.message.findMany({
    where: {
      conversationId,
      status: { not: 'STREAMING' },
      role: { in: ['USER', 'ASSISTANT'] },
      ...(before ? { createdAt: { lt: before } } : {}),
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { role: true, content: true, toolCalls: true, toolResults: true },
  });
  return rows.flatMap(historyMessages);
}

/**
 * Drops `tool` messages whose call is not in the messages before them: the context window may
 * have cut an assistant's calls off while keeping their results, which providers refuse.
 */
export function withoutOrphanResults(messages: ChatMessage[]): ChatMessage[] {
  const called = new Set<string>();
  return messages.filter((message) => {
    for (const call of message.toolCalls ?? []) called.add(call.id);
    return message.role !== 'tool' || called.has(message.toolCallId ?? '');
  });
}
