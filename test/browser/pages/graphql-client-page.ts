/**
 * The script of a web app on another origin that uses Switchyard the way the README says: urql
 * for queries, uploads and SSE subscriptions, graphql-ws for WebSocket subscriptions, an API key
 * as a Bearer token and a CSRF preflight header. Bundled for the browser by
 * test/browser/cross-origin.test.ts; each check returns plain JSON for the test to assert on.
 */
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

interface Target {
  url: string;
  key: string;
}

/** What one operation ended with: data, GraphQL errors, or the network failure a browser reports. */
interface Outcome {
  data?: unknown;
  errors?: { message: string; code?: unknown }[];
  networkError?: string;
}

const CHAT = `subscription ($content: String!) {
  chat(input: { content: $content }) {
    __typename ... on MessageDelta { seq text } ... on MessageCompleted { message { status content } } } }`;
const UPLOAD = 'mutation ($file: File!) { uploadDocument(file: $file, title: "from the page") { id title } }';

function urql({ url, key }: Target, headers: Record<string, string>, fetchSubscriptions = false): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    fetchSubscriptions,
    requestPolicy: 'network-only',
    fetchOptions: { headers: { authorization: `Bearer ${key}`, ...headers } },
  });
}

const PREFLIGHT = { 'graphql-require-preflight': '1' };

function outcome(result: {
  data?: unknown;
  error?: { graphQLErrors: { message: string; extensions: Record<string, unknown> }[]; networkError?: unknown };
}): Outcome {
  const { data, error } = result;
  if (!error) return { data };
  if (error.networkError) return { networkError: String(error.networkError) };
  return { data, errors: error.graphQLErrors.map((e) => ({ message: e.message, code: e.extensions.code })) };
}

/** A query as urql sends it by default (a GET within the URL limit). */
async function query(target: Target, source: string, headers: Record<string, string> = PREFLIGHT): Promise<Outcome> {
  return outcome(await urql(target, headers).query(source, {}).toPromise());
}

/** A mutation (a JSON POST). */
async function mutate(target: Target, source: string, variables: Record<string, unknown>): Promise<Outcome> {
  return outcome(await urql(target, PREFLIGHT).mutation(source, variables).toPromise());
}

/** An upload through urql's GraphQL multipart request, with or without a preflight header. */
async function upload(target: Target, headers: Record<string, string> = PREFLIGHT): Promise<Outcome> {
  const file = new File(['Notes typed into a web page.'], 'page-notes.txt', { type: 'text/plain' });
  return outcome(await urql(target, headers).mutation(UPLOAD, { file }).toPromise());
}

/** Every event of a `chat` subscription until it completes or fails. */
function chatOverSse(target: Target, content: string): Promise<{ events: unknown[]; end: Outcome }> {
  const events: unknown[] = [];
  return new Promise((resolve) => {
    const { unsubscribe } = urql(target, PREFLIGHT, true)
      .subscription(CHAT, { content })
      .subscribe((result) => {
        if (result.error) {
          unsubscribe();
          resolve({ events, end: outcome(result) });
          return;
        }
        const event = (result.data as { chat: { __typename: string } }).chat;
        events.push(event);
        if (event.__typename !== 'MessageDelta') resolve({ events, end: { data: 'complete' } });
      });
  });
}

/** The same over graphql-ws, signed in with `connectionParams`, through urql's subscriptionExchange. */
function chatOverWebSocket(target: Target, content: string): Promise<{ events: unknown[]; end: Outcome }> {
  const socket = createWsClient({
    url: target.url.replace(/^http/, 'ws'),
    connectionParams: { authorization: `Bearer ${target.key}` },
    retryAttempts: 0,
  });
  const client = new Client({
    url: target.url,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  // a failed socket reaches the sink as a bare Event; its close code says why it failed
  const closeCode = new Promise<number>((resolve) =>
    socket.on('closed', (event) => resolve((event as CloseEvent).code)),
  );
  const events: unknown[] = [];
  return new Promise((resolve) => {
    const finish = (end: Outcome) => {
      void socket.dispose();
      resolve({ events, end });
    };
    client.subscription(CHAT, { content }).subscribe((result) => {
      if (result.error?.networkError) {
        return void closeCode.then((code) => finish({ networkError: `WebSocket closed with ${code}` }));
      }
      if (result.error) return finish(outcome(result));
      const event = (result.data as { chat: { __typename: string } }).chat;
      events.push(event);
      if (event.__typename !== 'MessageDelta') finish({ data: 'complete' });
    });
  });
}

Object.assign(window, { switchyard: { query, mutate, upload, chatOverSse, chatOverWebSocket } });
