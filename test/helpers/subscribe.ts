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

export function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

export interface Collected<T> {
  events: T[];
  /** Resolves when the operation completes; rejects with its errors. */
  done: Promise<T[]>;
  /** Resolves once `n` events have arrived. */
  waitFor(n: number): Promise<T[]>;
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
    waitFor: (n) =>
      events.length >= n
        ? Promise.resolve(events)
        : new Promise((resolve, reject) => waiters.push({ n, resolve, reject })),
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
