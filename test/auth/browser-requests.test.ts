/**
 * What a browser may do here, request by request as a browser would send it (the headers a page
 * cannot forge: Origin, Sec-Fetch-Site): CORS only for CORS_ORIGINS, no mutation from a form or
 * a text/plain or multipart POST without a preflight header, no WebSocket from a foreign page.
 * The server runs as the loopback default (no credential needed), the case where a forged
 * request would act as the user; test/browser/cross-origin.test.ts does it in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PREFLIGHT_HEADERS } from '../../src/http/csrf-prevention.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const APP = 'http://app.example';
const EVIL = 'http://evil.example';

const DELETE = 'mutation ($id: ID!) { deleteConversation(id: $id) }';
const CONVERSATION = 'query ($id: ID!) { conversation(id: $id) { id } }';
const UPLOAD = 'mutation ($file: File!) { uploadDocument(file: $file, title: "csrf") { id title } }';
const CHAT = 'subscription { chat(input: { content: "from another site" }) { __typename } }';

interface Reply {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function send(url: string | URL, init: RequestInit): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

function multipart(query: string, headers: Record<string, string> = {}): RequestInit {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new File(['a note uploaded from a page'], 'note.txt', { type: 'text/plain' }));
  return { method: 'POST', body: form, headers: { accept: 'application/json', origin: APP, ...headers } };
}

const expectForbidden = (reply: Reply) => {
  expect(reply.status).toBe(403);
  expect(reply.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(reply.body.errors?.[0]?.message).toContain('apollo-require-preflight');
  expect(reply.body.data ?? undefined).toBeUndefined();
};

describe('browser requests: CORS for CORS_ORIGINS only, CSRF prevention, WebSocket origins', () => {
  let server: TestServer;
  let conversationId: string;

  const stillThere = async () => (await server.query(CONVERSATION, { id: conversationId })).data?.conversation;

  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: `${APP}, https://other.example` });
    const sent = await server.query<{ sendMessage: { conversation: { id: string } } }>(
      'mutation { sendMessage(input: { content: "keep me" }) { conversation { id } } }',
    );
    conversationId = sent.data?.sendMessage.conversation.id as string;
    expect(conversationId).toBeTruthy();
  });

  afterAll(() => server?.close());

  describe('CORS', () => {
    const preflight = (origin: string) =>
      fetch(server.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });

    it('answers a preflight from another origin with no Access-Control-Allow-Origin', async () => {
      for (const origin of [EVIL, `${APP}:8080`, 'https://app.example', 'null']) {
        const response = await preflight(origin);
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(response.headers.get('access-control-allow-credentials'), origin).toBeNull();
        expect(response.headers.get('access-control-allow-headers'), origin).toBeNull();
      }
    });

    it('allows a configured origin, with credentials and the headers a GraphQL client sends', async () => {
      const response = await preflight(APP);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
      const allowed = response.headers.get('access-control-allow-headers')?.split(', ');
      expect(allowed).toEqual(
        expect.arrayContaining(['content-type', 'accept', 'authorization', 'x-request-id', ...PREFLIGHT_HEADERS]),
      );
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('vary')).toContain('Origin');
      // the second configured origin too: the list is not one origin
      expect((await preflight('https://other.example')).headers.get('access-control-allow-origin')).toBe(
        'https://other.example',
      );
    });

    it('marks the answer to a request from the configured origin, and only that one', async () => {
      const post = (origin: string) =>
        send(server.url, {
          method: 'POST',
          headers: { origin, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
      const allowed = await post(APP);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
      expect(allowed.headers.get('vary')).toContain('Origin');
      const foreign = await post(EVIL);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      expect(foreign.headers.get('vary')).toContain('Origin');
    });
  });

  describe('CSRF prevention', () => {
    it('refuses a form-encoded POST that would delete a conversation; it is still there', async () => {
      const reply = await send(server.url, {
        method: 'POST',
        headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: DELETE, variables: JSON.stringify({ id: conversationId }) }),
      });
      expectForbidden(reply);
      expect(await stillThere()).toEqual({ id: conversationId });
    });

    it('refuses a text/plain POST that would delete a conversation; it is still there', async () => {
      const reply = await send(server.url, {
        method: 'POST',
        headers: { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({ query: DELETE, variables: { id: conversationId } }),
      });
      expectForbidden(reply);
      expect(await stillThere()).toEqual({ id: conversationId });
    });

    it('refuses a multipart POST without a preflight header and stores nothing', async () => {
      const before = await server.app.database.prisma.document.count();
      expectForbidden(await send(server.url, multipart(UPLOAD)));
      // also a multipart request that carries no file at all
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: DELETE, variables: { id: conversationId } }));
      form.append('map', '{}');
      expectForbidden(await send(server.url, { method: 'POST', body: form, headers: { origin: EVIL } }));
      expect(await server.app.database.prisma.document.count()).toBe(before);
      expect(await stillThere()).toEqual({ id: conversationId });
    });

    it.each(PREFLIGHT_HEADERS)('accepts a multipart upload with %s', async (header) => {
      const reply = await send(server.url, multipart(UPLOAD, { [header]: 'true' }));
      expect(reply.body.errors).toBeUndefined();
      expect(reply.body.data?.uploadDocument).toMatchObject({ title: 'csrf' });
      expect(reply.headers.get('access-control-allow-origin')).toBe(APP);
    });

    it('lets clients outside browsers POST JSON and GET queries without any extra header', async () => {
      expect(await server.query('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
      const get = await send(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {});
      expect(get).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
      // a JSON mutation: a browser preflights it, so it needs no header
      const remembered = await server.query('mutation { remember(input: { content: "json is fine" }) { id } }');
      expect(remembered.errors).toBeUndefined();
    });

    it('refuses a GET another site sent, unless it carries a preflight header; same-origin GETs pass', async () => {
      const url = `${server.url}?query=${encodeURIComponent('{ __typename }')}`;
      expectForbidden(await send(url, { headers: { 'sec-fetch-site': 'cross-site' } }));
      expectForbidden(await send(url, { headers: { 'sec-fetch-site': 'same-site' } }));
      expectForbidden(await send(url, { headers: { origin: EVIL } }));
      const sameOrigin = await send(url, { headers: { 'sec-fetch-site': 'same-origin' } });
      expect(sameOrigin.body).toEqual({ data: { __typename: 'Query' } });
      const withHeader = await send(url, {
        headers: { 'sec-fetch-site': 'cross-site', 'graphql-require-preflight': '1' },
      });
      expect(withHeader.body).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses a chat subscription over SSE (an EventSource GET) from another site: no conversation is created', async () => {
      const before = await server.app.database.prisma.conversation.count();
      const response = await fetch(`${server.url}?query=${encodeURIComponent(CHAT)}`, {
        headers: { accept: 'text/event-stream', origin: EVIL, 'sec-fetch-site': 'cross-site' },
      });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('FORBIDDEN');
      expect(await server.app.database.prisma.conversation.count()).toBe(before);
    });
  });

  describe('WebSocket origins', () => {
    /** Opens a graphql-transport-ws socket as a page on `origin` would; resolves with the upgrade's status. */
    const upgrade = (origin: string | undefined) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
        ws.once('upgrade', (response) => {
          resolve(response.statusCode ?? 0);
          ws.close();
        });
        ws.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          response.resume();
        });
        ws.once('error', reject);
      });

    /** Runs `{ __typename }` over graphql-ws from `origin` and returns the result. */
    const query = (origin: string) =>
      new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', { origin });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
        ws.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.type === 'connection_ack') {
            ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } }));
          } else if (message.type === 'next') {
            resolve(message.payload);
            ws.close();
          }
        });
        ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
        ws.once('error', reject);
      });

    it('refuses an upgrade from a foreign page with 403', async () => {
      expect(await upgrade(EVIL)).toBe(403);
      expect(await upgrade(`${APP}:8080`)).toBe(403);
    });

    it('accepts the configured origin, the server’s own origin and clients that send none', async () => {
      expect(await upgrade(APP)).toBe(101);
      expect(await upgrade(server.origin)).toBe(101);
      expect(await upgrade(undefined)).toBe(101);
      expect(await query(APP)).toEqual({ data: { __typename: 'Query' } });
      expect(await query(server.origin)).toEqual({ data: { __typename: 'Query' } });
    });
  });
});
