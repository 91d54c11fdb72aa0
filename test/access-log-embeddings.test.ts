/**
 * The access log of GraphQL operations that embed within the request (EMBEDDING_MODEL names a
 * provider's model, here the OpenAI fake's): `search`, `remember`, `recall` (over graphql-ws too)
 * and a turn grounded in documents and memories carry the tokens the provider reported for their
 * embeddings, as prompt tokens. Indexing embeds in the background, not within a request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, type FakeServer, startOpenAIFake } from './fakes/index.js';
import { keyCaller } from './helpers/auth.js';
import { eventually } from './helpers/eventually.js';
import { fakeProviderEnv } from './helpers/fake-provider-env.js';
import { accessLineOf, type LogLine, startLoggedServer } from './helpers/logged-server.js';
import { wsClient } from './helpers/subscribe.js';
import type { TestServer } from './helpers/test-server.js';

/** What the fake reports for a text: its own count, not the gateway's tokenizer's. */
const reported = (text: string) => countTokens(text);

describe('access log: embedding tokens', () => {
  let server: TestServer;
  let logs: LogLine[];
  let openai: FakeServer;
  let caller: Awaited<ReturnType<typeof keyCaller>>;

  const lineOf = (requestId: string) => accessLineOf(logs, requestId);
  const post = async (requestId: string, query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: caller.authorization, 'x-request-id': requestId },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    expect(body.errors, requestId).toBeUndefined();
    return body.data;
  };
  /** The inputs of the embedding requests the fake received since `from`. */
  const embeddedSince = (from: number) =>
    openai.requests
      .slice(from)
      .filter((r) => r.path === '/v1/embeddings')
      .flatMap((r) => (r.body as { input: string[] }).input);

  beforeAll(async () => {
    openai = await startOpenAIFake({ reply: 'a grounded answer' });
    ({ server, logs } = await startLoggedServer(
      { ...fakeProviderEnv({ openai }), EMBEDDING_MODEL: 'openai/text-embedding-3-small' },
      'info',
    ));
    caller = await keyCaller(server.app.database.prisma, 'embedding-watcher');
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
  });

  it('gives search and remember the tokens the provider reported for their embedding', async () => {
    const question = 'Where do herons nest in early spring?';
    let from = openai.requests.length;
    await post('req-search', 'query Search($q: String!) { search(query: $q, mode: HYBRID) { score } }', {
      q: question,
    });
    expect(embeddedSince(from)).toEqual([question]);
    expect(await lineOf('req-search')).toMatchObject({
      operation: 'query Search',
      userId: caller.userId,
      tokens: { prompt: reported(question), completion: 0 },
    });

    const fact = 'The user keeps a notebook of heron sightings by the river.';
    from = openai.requests.length;
    await post('req-remember', 'mutation Remember($c: String!) { remember(input: { content: $c }) { id } }', {
      c: fact,
    });
    expect(embeddedSince(from)).toEqual([fact]);
    expect(await lineOf('req-remember')).toMatchObject({
      operation: 'mutation Remember',
      tokens: { prompt: reported(fact), completion: 0 },
    });
  });

  it('gives a recall over graphql-ws its own line with its tokens', async () => {
    const ws = wsClient(server.wsUrl, { authorization: caller.authorization });
    const question = 'what does the user keep notes about';
    try {
      const results = [];
      for await (const result of ws.iterate({
        query: 'query Recall($q: String!) { recall(query: $q) { score } }',
        variables: { q: question },
      })) {
        results.push(result);
      }
      expect(results).toHaveLength(1);
      const [result] = results;
      expect(result?.errors).toBeUndefined();
      expect(result?.data).toMatchObject({ recall: expect.any(Array) });
    } finally {
      await ws.dispose();
    }
    const line = await eventually(
      () => logs.find((l) => l.message === 'access' && l.operation === 'query Recall'),
      (found) => found !== undefined,
      { what: "the WebSocket recall's access line" },
    );
    expect(line).toMatchObject({ transport: 'graphql-ws', tokens: { prompt: reported(question), completion: 0 } });
  });

  it("gives a turn grounded in documents and memories its grounding's embedding tokens", async () => {
    const content = 'Tell me about my heron notebook';
    const from = openai.requests.length;
    await post(
      'req-grounded',
      'mutation Send($c: String!) { sendMessage(input: { content: $c, model: "gpt-4o-mini", useDocuments: true, useMemory: true }) { assistantMessage { id } } }',
      { c: content },
    );
    // One embedding of the message for the documents' search, one for the memories' recall.
    expect(embeddedSince(from).filter((input) => input === content)).toHaveLength(2);
    expect(await lineOf('req-grounded')).toMatchObject({
      operation: 'mutation Send',
      tokens: { prompt: 2 * reported(content), completion: 0 },
    });
  });
});
