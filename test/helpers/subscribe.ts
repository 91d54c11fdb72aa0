import { inspect } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface StreamEventResult {
  __typename: 'MessageDelta' | 'MessageCompleted' | 'MessageFailed';
  messageId?: string;
  seq?: number;
  text?: string;
  code?: string;
  error?: string;
  message?: { id: string; status: string; content: string; [key: string]: unknown };
}

export const STREAM_EVENT_FIELDS = `
  __typename
  ... on MessageDelta { messageId seq text }
  ... on MessageCompleted { message { id status content provider model ttftMs latencyMs usage { promptTokens completionTokens totalTokens } } }
  ... on MessageFailed { code error message { id status content provider error } }
`;

/** Below vitest's test timeout, so a wait that gives up says how far it got. */
const WAIT_FOR_TIMEOUT_MS = 60_000;

/** A graphql-ws client that never retries; `connectionParams` is the `connection_init` payload (a credential). */
export function wsClient(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
}

export interface Collected<T> {
  events: T[];
  /** Resolves when the operation completes; rejects with its errors. */
  done: Promise<T[]>;
  /**
   * Resolves once `n` events have arrived; rejects if the operation ends first, or at the
   * deadline with the events so far (a wait never hangs until the test's own timeout).
   */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
  unsubscribe(): void;
}

/** Runs a subscription over graphql-ws, collecting the field `field` of every `next`. */
export function collect<T = StreamEventResult>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Collected<T> {
  const events: T[] = [];
  const waiters: { n: number; resolve: (v: T[]) => void; reject: (e: unknown) => void }[] = [];
  let unsubscribe = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) return reject(value.errors);
          events.push((value.data as Record<string, T>)[field] as T);
          for (const w of waiters.filter((w) => events.length >= w.n)) w.resolve(events);
        },
        error: reject,
        complete: () => {
          resolve(events);
          for (const w of waiters) w.reject(new Error(`completed after ${events.length} events, before ${w.n}`));
        },
      },
    );
  });
  done.catch((error) => {
    for (const w of waiters) w.reject(error);
  });
  return {
    events,
    done,
    waitFor: (n, timeoutMs = WAIT_FOR_TIMEOUT_MS) => {
      if (events.length >= n) return Promise.resolve(events);
      return new Promise<T[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          const last = inspect(events.slice(-3), { depth: 4 });
          reject(new Error(`waitFor: ${events.length} of ${n} events after ${timeoutMs} ms; the last: ${last}`));
        }, timeoutMs);
        const settle =
          <A>(fn: (a: A) => void) =>
          (a: A) => {
            clearTimeout(timer);
            fn(a);
          };
        waiters.push({ n, resolve: settle(resolve), reject: settle(reject) });
      });
    },
    unsubscribe: () => unsubscribe(),
  };
}

/** The deltas' seqs and the terminal event's type, for compact assertions. */
export function shape(events: StreamEventResult[]) {
  return {
    seqs: events.filter((e) => e.__typename === 'MessageDelta').map((e) => e.seq),
    text: events
      .filter((e) => e.__typename === 'MessageDelta')
      .map((e) => e.text)
      .join(''),
    terminal: events.filter((e) => e.__typename !== 'MessageDelta').map((e) => e.__typename),
  };
}
