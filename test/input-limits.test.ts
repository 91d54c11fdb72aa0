import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { conversation { id } assistantMessage { id } }
}`;

interface Sent {
  sendMessage: { conversation: { id: string }; assistantMessage: { id: string } };
}

type Extensions = { code?: string; field?: string; max?: number };

describe('input limits: every argument has a size, every page a maximum', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MOCK_TOKEN_DELAY_MS: '0' });
  });
  afterAll(async () => {
    await server?.close();
  });

  const stillAnswers = async () => {
    expect((await server.query('{ health { database { status } } }')).data).toEqual({
      health: { database: { status: 'ok' } },
    });
  };
  const finished = (messageId: string) =>
    eventually(
      () =>
        server.query<{ message: { status: string } }>('query ($id: ID!) { message(id: $id) { status } }', {
          id: messageId,
        }),
      (r) => r.data?.message.status === 'COMPLETE',
      { what: `message ${messageId} to complete` },
    );

  it('answers a 99,000-letter one-word message and a 100,000-character one-word system prompt', async () => {
    // Counted, then refused for the model's window (mock-echo: 8,192 tokens): an answer, not a stall.
    const window = { code: 'BAD_USER_INPUT', contextWindow: 8_192, reservedOutputTokens: 1_024 };
    const long = await server.query<Sent>(SEND, { input: { content: 'A'.repeat(99_000) } });
    expect(long.errors?.[0]?.extensions).toEqual({ ...window, tokens: expect.any(Number) });
    const prompted = await server.query<Sent>(SEND, {
      input: { content: 'Hello', systemPrompt: 'x'.repeat(100_000) },
    });
    expect(prompted.errors?.[0]?.extensions).toEqual({ ...window, tokens: expect.any(Number) });
    // one word that fits the window is generated as usual
    const fits = await server.query<Sent>(SEND, { input: { content: 'a'.repeat(30_000) } });
    expect(fits.errors).toBeUndefined();
    await finished(fits.data?.sendMessage.assistantMessage.id as string);
    await stillAnswers();
  });

  it.each([
    [
      'a 300 KB one-word system prompt',
      { content: 'Hi', systemPrompt: 'x'.repeat(300_000) },
      'input.systemPrompt',
      100_000,
    ],
    ['a 100 KB one-word message', { content: 'y'.repeat(102_400) }, 'input.content', 100_000],
    ['a model name of 5,000 characters', { content: 'Hi', model: 'm'.repeat(5_000) }, 'input.model', 1_000],
    [
      'a conversation id of 5,000 characters',
      { content: 'Hi', conversationId: 'c'.repeat(5_000) },
      'input.conversationId',
      1_000,
    ],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_label, input, field, max) => {
    const body = await server.query(SEND, { input });
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field, max });
    expect(body.errors?.[0]?.message).toMatch(
      new RegExp(`^${field.replace('.', '\\.')} is \\d+ characters; at most ${max}`),
    );
    expect(await server.app.database.prisma.message.count({ where: { content: input.content } })).toBe(0);
  });

  it('refuses an over-long literal, search query, document title and metadata', async () => {
    const literal = await server.query(`mutation { remember(input: { content: "${'z'.repeat(2_001)}" }) { id } }`);
    expect(literal.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.content', max: 2_000 });
    const search = await server.query('query ($q: String!) { search(query: $q) { score } }', { q: 'q'.repeat(4_001) });
    expect(search.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'query', max: 4_000 });
    const ingest = 'mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }';
    const title = await server.query(ingest, { input: { title: 't'.repeat(1_001), content: 'text' } });
    expect(title.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.title', max: 1_000 });
    const metadata = await server.query(ingest, {
      input: { title: 'ok', content: 'text', metadata: { blob: 'b'.repeat(20_000) } },
    });
    expect(metadata.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.metadata', max: 16_384 });
    // nested past what JSON.stringify can recurse through (written by hand: the client's stringify cannot either)
    const depth = 5_000;
    const deep = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query":${JSON.stringify(ingest)},"variables":{"input":{"title":"t","content":"c","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}}`,
    });
    expect(((await deep.json()) as { errors: { extensions: unknown }[] }).errors[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.metadata',
      max: 64,
    });
    await stillAnswers();
  });

  it('refuses first or last above 100, literal or variable, naming the argument', async () => {
    const literal = await server.query('{ conversations(first: 100000) { edges { cursor } } }');
    // (graphql-armor's cost rule refuses it too, for its cost)
    expect(literal.errors).toContainEqual({
      message: 'first of conversations is 100000; at most 100 rows a page',
      extensions: { code: 'BAD_USER_INPUT', field: 'first', max: 100 },
    });
    const variable = await server.query('query ($n: Int) { memories(last: $n) { edges { cursor } } }', { n: 101 });
    expect(variable.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'last', max: 100 });
    const fits = await server.query('query ($n: Int) { memories(first: $n) { edges { cursor } } }', { n: 100 });
    expect(fits.errors).toBeUndefined();
  });

  it('refuses nested pages that multiply past 10,000 rows even when the sizes are variables', async () => {
    const nested = `query ($a: Int, $b: Int, $c: Int) { conversations(first: $a) { edges { node {
      messages(first: $b) { edges { node { conversation { messages(first: $c) { edges { node { id } } } } } } } } } } }`;
    const tooMany = await server.query(nested, { a: 100, b: 100, c: 100 });
    expect(tooMany.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'messages', max: 10_000 });
    const fine = await server.query(nested, { a: 10, b: 10, c: 10 });
    expect(fine).toEqual({ data: { conversations: expect.any(Object) } });
  });

  it('answers node(id) of a type that is not a node with BAD_USER_INPUT', async () => {
    const uuid = '7b0c0f3c-6a0e-4c57-9a4f-1f3b4ad0c001';
    for (const typename of ['Nope', 'SendMessageInput', 'Citation']) {
      const body = await server.query('query ($id: ID!) { node(id: $id) { id } }', {
        id: encodeGlobalId(typename, uuid),
      });
      expect({ typename, data: body.data, code: body.errors?.[0]?.extensions?.code }).toEqual({
        typename,
        data: { node: null },
        code: 'BAD_USER_INPUT',
      });
    }
  });

  it('gives multipart request errors a code', async () => {
    const multipart = async (operations: string, map: string | undefined) => {
      const form = new FormData();
      form.append('operations', operations);
      if (map !== undefined) form.append('map', map);
      form.append('0', new File(['hello'], 'hello.txt'));
      const response = await fetch(server.url, {
        method: 'POST',
        body: form,
        headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
      });
      const body = (await response.json()) as { errors?: { extensions?: Extensions }[] };
      return { status: response.status, code: body.errors?.[0]?.extensions?.code };
    };
    const upload = JSON.stringify({
      query: 'mutation ($file: File!) { uploadDocument(file: $file) { id } }',
      variables: { file: null },
    });
    const map = JSON.stringify({ 0: ['variables.file'] });
    expect(await multipart('{not json', map)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    expect(await multipart(upload, '{not json')).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    expect(await multipart(upload, undefined)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    const notAFile = await server.query('mutation ($file: File!) { uploadDocument(file: $file) { id } }', {
      file: 'a string',
    });
    expect(notAFile.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await stillAnswers();
  });

  it('shows Document.error, null while nothing failed', async () => {
    const created = await server.query<{ ingestDocument: { id: string; error: string | null } }>(
      'mutation { ingestDocument(input: { title: "t", content: "Some text." }) { id error } }',
    );
    expect(created.data?.ingestDocument.error).toBeNull();
  });
});
