import type { Db } from '../../src/db/database.js';
import { parseGlobalId } from '../../src/schema/global-id.js';
import { eventually } from './eventually.js';
import { post, type Reply } from './limits-cluster.js';
import type { TestServer } from './test-server.js';

/** What a chat turn asks for (the SendMessageInput fields these tests use). */
export interface TurnInput {
  content: string;
  model?: string;
  provider?: string;
  maxTokens?: number;
  conversationId?: string;
}

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const CHAT = `subscription($input: SendMessageInput!) { chat(input: $input) {
  __typename
  ... on MessageDelta { messageId seq text }
  ... on MessageCompleted { message { id status } }
  ... on MessageFailed { code message { id status } }
} }`;

/** How a turn was answered: admitted (with the assistant message's database id) or refused. */
export interface Turn {
  status: number;
  headers: Headers;
  /** The assistant message's database id when admitted. */
  messageId: string | null;
  /** The refusal's `extensions` (code, limit, retryAfterMs), when refused. */
  refusal: Record<string, unknown> | null;
}

/** The first error's extensions, or null. */
export const refusalOf = (reply: Pick<Reply, 'errors'>) =>
  reply.errors?.[0] ? { message: reply.errors[0].message, ...reply.errors[0].extensions } : null;

/** `sendMessage` over HTTP as `secret`. */
export async function send(server: TestServer, secret: string, input: TurnInput): Promise<Turn> {
  const reply = await post<{ sendMessage: { assistantMessage: { id: string } } }>(server, secret, SEND, { input });
  const id = reply.data?.sendMessage?.assistantMessage.id;
  return {
    status: reply.status,
    headers: reply.headers,
    messageId: id ? parseGlobalId(id, 'Message') : null,
    refusal: refusalOf(reply),
  };
}

export interface ChatEvent {
  __typename: 'MessageDelta' | 'MessageCompleted' | 'MessageFailed';
  messageId?: string;
  text?: string;
  code?: string;
  message?: { id: string; status: string };
}

/** A `chat` subscription over SSE: its response headers, then its events one by one. */
export interface SseChat {
  status: number;
  headers: Headers;
  /** The operation's errors' first extensions when it was refused (the stream then ends). */
  refusal: Record<string, unknown> | null;
  /** The events so far. */
  events: ChatEvent[];
  /** The next event, or null once the stream ended. */
  next(): Promise<ChatEvent | null>;
  /** Reads until the terminal event; returns it. */
  end(): Promise<ChatEvent>;
  /** The assistant message's database id, known from the first event. */
  messageId(): string;
  /** Closes the connection as a client that goes away does. */
  disconnect(): void;
}

/** Starts a `chat` subscription over SSE (plain fetch) and reads up to its first event. */
export async function openChat(server: TestServer, secret: string, input: TurnInput): Promise<SseChat> {
  const abort = new AbortController();
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: CHAT, variables: { input } }),
    signal: abort.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const events: ChatEvent[] = [];
  let refusal: Record<string, unknown> | null = null;

  /** The next `next` payload; null at the end of the stream. */
  async function payload(): Promise<Reply<{ chat: ChatEvent }> | null> {
    for (;;) {
      const end = buffered.indexOf('\n\n');
      if (end >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (\w+)/m.exec(block)?.[1];
        if (event === 'complete') return null;
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'next' && data) return JSON.parse(data);
        continue; // keep-alives
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += decoder.decode(value, { stream: true });
    }
  }

  const chat: SseChat = {
    status: response.status,
    headers: response.headers,
    get refusal() {
      return refusal;
    },
    events,
    async next() {
      if (refusal) return null;
      const result = await payload();
      if (!result) return null;
      if (result.errors) {
        refusal = refusalOf(result);
        return null;
      }
      const event = result.data?.chat as ChatEvent;
      events.push(event);
      return event;
    },
    async end() {
      for (;;) {
        const event = await chat.next();
        if (!event) throw new Error(`the chat ended without a terminal event: ${JSON.stringify(refusal ?? events)}`);
        if (event.__typename !== 'MessageDelta') return event;
      }
    },
    messageId() {
      const first = events[0];
      const id = first?.messageId ?? first?.message?.id;
      if (!id) throw new Error('no event yet');
      return parseGlobalId(id, 'Message');
    },
    disconnect() {
      abort.abort();
    },
  };
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    refusal = refusalOf((await response.json()) as Reply);
    return chat;
  }
  await chat.next();
  return chat;
}

const TERMINAL = new Set(['COMPLETE', 'FAILED', 'CANCELLED']);

/** Waits until every message has ended; returns their rows, in the order of `ids`. */
export async function endedMessages(db: Db, ids: string[]) {
  const rows = await eventually(
    () => db.message.findMany({ where: { id: { in: ids } } }),
    (found) => found.length === ids.length && found.every((m) => TERMINAL.has(m.status)),
    { what: `${ids.length} messages to end` },
  );
  return ids.map((id) => rows.find((m) => m.id === id) as (typeof rows)[number]);
}

/** The usage event of each message, in the order of `ids`. */
export async function usageEventsOf(db: Db, ids: string[]) {
  const events = await db.usageEvent.findMany({ where: { messageId: { in: ids } } });
  return ids.map((id) => events.filter((e) => e.messageId === id));
}

export interface BudgetStatus {
  dailyLimitUsd: number | null;
  dailySpentUsd: number;
  monthlyLimitUsd: number | null;
  monthlySpentUsd: number;
}

/** `budget` as the key `secret` sees it. */
export async function budgetOf(server: TestServer, secret: string): Promise<BudgetStatus> {
  const reply = await post<{ budget: BudgetStatus }>(
    server,
    secret,
    '{ budget { dailyLimitUsd dailySpentUsd monthlyLimitUsd monthlySpentUsd } }',
  );
  if (!reply.data?.budget) throw new Error(`budget failed: ${JSON.stringify(reply.errors)}`);
  return reply.data.budget;
}

/** Nano-dollars of a decimal USD amount (as stored or as answered). */
export const nanos = (usd: { toString(): string } | number | null) =>
  usd === null ? 0 : Math.round(Number(usd) * 1e9);

/** Sends `n` turns at once, the i-th to instance `pick(i)`. */
export function burst(n: number, turn: (i: number) => Promise<Turn>): Promise<Turn[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => turn(i)));
}

/** `count` turns split into admitted and refused, for assertions. */
export function tally(turns: Turn[]) {
  const admitted = turns.filter((t) => t.messageId !== null);
  const refused = turns.filter((t) => t.messageId === null);
  return { admitted, refused };
}
