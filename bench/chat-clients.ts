import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * CLOCK_MONOTONIC in ms (µs resolution): the same clock in every process on this machine, so times
 * taken here and in the fake upstream can be subtracted.
 */
export const monoMs = () => Number(process.hrtime.bigint() / 1_000n) / 1_000;

let lastTag = 0;
/** Each request's prompt starts with a unique tag, by which the fake upstream reports its arrival. */
const tagged = (prompt: string) => {
  const tag = `r${++lastTag}`;
  return { tag, content: `${tag} ${prompt}` };
};

/** One streamed chat as the client saw it. */
export interface StreamResult {
  tag: string;
  /** monoMs() when the request was sent, and when its first content token arrived. */
  sentAt: number;
  firstAt: number | undefined;
  /** From sending the request to the first non-empty content token; undefined when none came. */
  ttftMs: number | undefined;
  /** Content tokens received: the fake sends one word per token, and gateways may join several in one delta. */
  tokens: number;
  error: string | undefined;
}

/** Words in a piece of streamed text (a delta may carry several of the fake's one-word tokens). */
const wordsIn = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** Opens one streamed chat; `onFirstToken` fires once, at the first content token. */
export type OpenStream = (signal: AbortSignal, onFirstToken?: () => void) => Promise<StreamResult>;

const MODEL = 'gpt-4o-mini';

/** OpenAI-style streaming chat over raw fetch: the fake itself, or a gateway that speaks OpenAI. */
export function openAIStream(baseURL: string, prompt: string, headers: Record<string, string> = {}): OpenStream {
  const init = { method: 'POST', headers: { 'content-type': 'application/json', ...headers } };
  return async (signal, onFirstToken) => {
    const { tag, content } = tagged(prompt);
    const body = JSON.stringify({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content }],
    });
    let firstAt: number | undefined;
    let tokens = 0;
    const sentAt = monoMs();
    const result = (error: string | undefined): StreamResult => ({
      tag,
      sentAt,
      firstAt,
      ttftMs: firstAt === undefined ? undefined : firstAt - sentAt,
      tokens,
      error,
    });
    try {
      const response = await fetch(`${baseURL}/chat/completions`, { ...init, body, signal });
      if (!response.ok || !response.body) {
        return result(`HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      let done = false;
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        buffer += decoder.decode(read.value, { stream: true }).replaceAll('\r\n', '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of frame.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') {
              done = true;
              continue;
            }
            const text = (JSON.parse(data) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta
              ?.content;
            if (!text) continue;
            if (firstAt === undefined) {
              firstAt = monoMs();
              onFirstToken?.();
            }
            tokens += wordsIn(text);
          }
        }
      }
      return result(done ? undefined : 'stream ended without [DONE]');
    } catch (error) {
      return result(errorText(error));
    }
  };
}

const CHAT = `subscription Chat($input: SendMessageInput!) {
  chat(input: $input) {
    __typename
    ... on MessageDelta { seq text }
    ... on MessageCompleted { message { id status } }
    ... on MessageFailed { code error }
  }
}`;

type ChatEvent =
  | { __typename: 'MessageDelta'; seq: number; text: string }
  | { __typename: 'MessageCompleted'; message: { id: string; status: string } }
  | { __typename: 'MessageFailed'; code: string; error: string };

/** graphql-ws sockets to the gateway; streams are spread over them round-robin. */
export interface GatewaySockets {
  stream(content: string): OpenStream;
  close(): Promise<void>;
}

/**
 * Opens `count` graphql-ws connections and waits until every one is acknowledged; `connectionParams`
 * is the `connection_init` payload (e.g. `{ authorization: 'Bearer ...' }`).
 */
export async function connectGateway(
  url: string,
  count: number,
  timeoutMs = 15_000,
  connectionParams?: Record<string, unknown>,
): Promise<GatewaySockets> {
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const connected: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let ack = () => {};
    let fail = (_: unknown) => {};
    connected.push(
      new Promise<void>((resolve, reject) => {
        ack = resolve;
        fail = reject;
      }),
    );
    clients.push(
      createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams,
        // Failures reach each operation's sink; a lost socket is not a crash of the benchmark.
        onNonLazyError: () => {},
        on: { connected: () => ack(), error: (error) => fail(error) },
      }),
    );
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    timeout.addEventListener('abort', () => reject(new Error('graphql-ws connect timeout'))),
  );
  try {
    await Promise.race([Promise.all(connected), timedOut]);
  } catch (error) {
    await Promise.all(clients.map((client) => client.dispose()));
    throw error;
  }
  let next = 0;
  return {
    stream(prompt) {
      return (signal, onFirstToken) => {
        const client = clients[next++ % clients.length] as Client;
        const { tag, content } = tagged(prompt);
        return chatOnce(client, tag, { input: { content, provider: 'openai', model: MODEL } }, signal, onFirstToken);
      };
    },
    close: async () => void (await Promise.all(clients.map((client) => client.dispose()))),
  };
}

function chatOnce(
  client: Client,
  tag: string,
  variables: Record<string, unknown>,
  signal: AbortSignal,
  onFirstToken?: () => void,
): Promise<StreamResult> {
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    let tokens = 0;
    let settled = false;
    const sentAt = monoMs();
    /** Set by the terminal event; the stream ends at the server's `complete` that follows it. */
    let outcome: { error: string | undefined } | undefined;
    let unsubscribe = () => {};
    const finish = (error: string | undefined, cancel: boolean) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (cancel) unsubscribe();
      resolve({ tag, sentAt, firstAt, ttftMs: firstAt === undefined ? undefined : firstAt - sentAt, tokens, error });
    };
    const onAbort = () => finish(`aborted: ${errorText(signal.reason)}`, true);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    unsubscribe = client.subscribe<{ chat: ChatEvent }>(
      { query: CHAT, variables },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return finish(errors.map((e) => e.message).join('; '), true);
          const event = data?.chat;
          if (event?.__typename === 'MessageDelta') {
            if (firstAt === undefined) {
              firstAt = monoMs();
              onFirstToken?.();
            }
            tokens += wordsIn(event.text);
          } else if (event?.__typename === 'MessageFailed') {
            outcome = { error: `${event.code}: ${event.error}` };
          } else if (event?.__typename === 'MessageCompleted') {
            outcome = { error: event.message.status === 'COMPLETE' ? undefined : `status ${event.message.status}` };
          }
        },
        error: (error) => finish(errorText(error), false),
        complete: () => finish(outcome ? outcome.error : `completed after ${tokens} deltas, no terminal event`, false),
      },
    );
  });
}

function errorText(error: unknown): string {
  if (Array.isArray(error)) return error.map(errorText).join('; ');
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  if (typeof error === 'object' && error !== null && 'reason' in error) return `socket closed: ${String(error.reason)}`;
  return String(error);
}

/**
 * The `chat` subscription over GraphQL over SSE (POST, `Accept: text/event-stream`): one HTTP
 * request per chat, so headers such as `authorization` are checked on every one.
 */
export function sseGateway(url: string, prompt: string, headers: Record<string, string> = {}): OpenStream {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
  };
  return async (signal, onFirstToken) => {
    const { tag, content } = tagged(prompt);
    const body = JSON.stringify({ query: CHAT, variables: { input: { content, provider: 'openai', model: MODEL } } });
    let firstAt: number | undefined;
    let tokens = 0;
    const sentAt = monoMs();
    const result = (error: string | undefined): StreamResult => ({
      tag,
      sentAt,
      firstAt,
      ttftMs: firstAt === undefined ? undefined : firstAt - sentAt,
      tokens,
      error,
    });
    let outcome: { error: string | undefined } | undefined;
    try {
      const response = await fetch(url, { ...init, body, signal });
      if (!response.ok || !response.body) {
        return result(`HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        buffer += decoder.decode(read.value, { stream: true }).replaceAll('\r\n', '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (!data) continue;
          const payload = JSON.parse(data) as { data?: { chat?: ChatEvent }; errors?: { message: string }[] };
          if (payload.errors?.length) return result(payload.errors.map((e) => e.message).join('; '));
          const event = payload.data?.chat;
          if (event?.__typename === 'MessageDelta') {
            if (firstAt === undefined) {
              firstAt = monoMs();
              onFirstToken?.();
            }
            tokens += wordsIn(event.text);
          } else if (event?.__typename === 'MessageFailed') {
            outcome = { error: `${event.code}: ${event.error}` };
          } else if (event?.__typename === 'MessageCompleted') {
            outcome = { error: event.message.status === 'COMPLETE' ? undefined : `status ${event.message.status}` };
          }
        }
      }
      return result(outcome ? outcome.error : `ended after ${tokens} tokens, no terminal event`);
    } catch (error) {
      return result(errorText(error));
    }
  };
}
