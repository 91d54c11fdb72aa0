import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/global-id.js';
import type { TestServer } from '../helpers/test-server.js';
import {
  BACKENDS,
  CREATE_KEY,
  type Created,
  call,
  type Member,
  ok,
  SEND,
  startIdentityServer,
} from './identity-client.js';

/** Scopes gate whole areas: FORBIDDEN naming the scope needed, before anything is read or written. */

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`scope checks on ${backend.name}`, () => {
    let started: Awaited<ReturnType<typeof startIdentityServer>>;
    let server: TestServer;
    let alice: Member;

    beforeAll(async () => {
      started = await startIdentityServer(backend);
      server = started.server;
      alice = await started.userWithKey('alice');
    });

    afterAll(() => started?.close());

    it('re-embeds memories in reembed only for a credential that also has MEMORY', async () => {
      const documentsOnly = ok(
        await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'docs', scopes: ['DOCUMENTS'] } }),
      ).createApiKey.secret;
      ok(await call(server, alice.secret, 'mutation { remember(input: { content: "likes tea" }) { id } }'));
      const userId = decodeGlobalId(alice.userId).id;
      const db = server.app.database.prisma;
      await db.memory.updateMany({ where: { userId }, data: { embeddingModel: 'an-old-model' } });
      const REEMBED = 'mutation { reembed { memories } }';

      expect(ok(await call<{ reembed: { memories: number } }>(server, documentsOnly, REEMBED)).reembed.memories).toBe(
        0,
      );
      expect(await db.memory.count({ where: { userId, embeddingModel: 'an-old-model' } })).toBeGreaterThan(0);
      const all = ok(await call<{ reembed: { memories: number } }>(server, alice.secret, REEMBED)).reembed.memories;
      expect(all).toBeGreaterThan(0);
      expect(await db.memory.count({ where: { userId, embeddingModel: 'an-old-model' } })).toBe(0);
    });

    describe('a key with only CHAT', () => {
      let chatOnly: string;
      let documentId: string;

      beforeAll(async () => {
        chatOnly = ok(
          await call<Created>(server, alice.secret, CREATE_KEY, { input: { name: 'chat only', scopes: ['CHAT'] } }),
        ).createApiKey.secret;
        documentId = ok(
          await call<{ ingestDocument: { id: string } }>(
            server,
            alice.secret,
            'mutation { ingestDocument(input: { title: "t", content: "hello" }) { id } }',
          ),
        ).ingestDocument.id;
      });

      it('is FORBIDDEN documents, search, memories and node(id) of a document, naming the scope', async () => {
        const missingDocument = encodeGlobalId('Document', '00000000-0000-4000-8000-0000000000ff');
        for (const [query, scope] of [
          ['{ documents { edges { node { id } } } }', 'DOCUMENTS'],
          ['{ search(query: "hello") { score } }', 'DOCUMENTS'],
          ['mutation { reembed { documents } }', 'DOCUMENTS'],
          ['{ memories { edges { node { id } } } }', 'MEMORY'],
          [`{ node(id: "${documentId}") { id } }`, 'DOCUMENTS'],
          // the same answer for a document that does not exist: nothing is told about existence
          [`{ node(id: "${missingDocument}") { id } }`, 'DOCUMENTS'],
        ] as const) {
          const reply = await call(server, chatOnly, query);
          expect({ query, error: reply.errors?.[0] }).toEqual({
            query,
            error: expect.objectContaining({
              message: `this needs the ${scope} scope`,
              extensions: expect.objectContaining({ code: 'FORBIDDEN', scope }),
            }),
          });
        }
      });

      it('chats, but not with useDocuments or useMemory, and writes nothing then', async () => {
        const userId = decodeGlobalId(alice.userId).id;
        const conversations = () => server.app.database.prisma.conversation.count({ where: { userId } });
        const before = await conversations();
        for (const [flag, scope] of [
          ['useDocuments', 'DOCUMENTS'],
          ['useMemory', 'MEMORY'],
        ] as const) {
          const reply = await call(server, chatOnly, SEND, { input: { content: 'hi', model: 'mock', [flag]: true } });
          expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope });
        }
        expect(await conversations()).toBe(before);

        const sent = ok(
          await call<{ sendMessage: { conversation: { id: string } } }>(server, chatOnly, SEND, {
            input: { content: 'hi', model: 'mock' },
          }),
        ).sendMessage;
        const found = ok(
          await call<{ node: unknown }>(server, chatOnly, 'query($id: ID!) { node(id: $id) { id } }', {
            id: sent.conversation.id,
          }),
        );
        expect(found.node).toEqual({ id: sent.conversation.id });
      });

      it('is refused a chat subscription with useDocuments when it starts, over graphql-ws', async () => {
        const client = createClient({
          url: server.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          connectionParams: { authorization: `Bearer ${chatOnly}` },
        });
        try {
          const errors = await new Promise<unknown>((resolve, reject) => {
            client.subscribe(
              { query: 'subscription { chat(input: { content: "hi", useDocuments: true }) { __typename } }' },
              {
                next: (value) => resolve(value.errors),
                error: resolve,
                complete: () => reject(new Error('completed')),
              },
            );
          });
          expect(errors).toEqual([
            expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN', scope: 'DOCUMENTS' }) }),
          ]);
        } finally {
          await client.dispose();
        }
      });
    });
  });
}
