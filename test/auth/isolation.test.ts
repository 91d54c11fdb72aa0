import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import {
  type Caller,
  jwksEnv,
  keyCaller,
  type Operation,
  type Outcome,
  overHttp,
  startJwks,
  TRANSPORTS,
  type TransportName,
} from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * Issue #15, isolation: three users (two with API keys, one signed in with a JWT from a key set
 * this test serves) each own a conversation, documents and a memory; every read and write,
 * tried by each on the others' ids over HTTP, SSE and graphql-ws, answers exactly as it does for
 * an id that does not exist, and changes nothing of theirs.
 */

type Kind = 'Conversation' | 'Message' | 'Document' | 'Chunk' | 'Memory' | 'ApiKey';

/** What one user owns, by global id. */
interface Owned {
  caller: Caller;
  /** Words only this user's documents and memory contain. */
  secret: string;
  uploadSecret: string;
  memoryText: string;
  uploadText: string;
  ids: {
    conversation: string;
    userMessage: string;
    assistantMessage: string;
    /** A generation still running while the others try it. */
    longConversation: string;
    longMessage: string;
    document: string;
    upload: string;
    chunk: string;
    memory: string;
    /** The key a user signed in with (none for the JWT user). */
    apiKey: string | undefined;
  };
}

const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) {
  conversation { id } userMessage { id } assistantMessage { id } } }`;
const UPLOAD = 'mutation ($file: File!) { uploadDocument(file: $file) { id } }';
/** Each token of the long reply takes MOCK_TOKEN_DELAY_MS: 3,000 of them run for minutes. */
const LONG_CONTENT = Array.from({ length: 3_000 }, () => 'lorem').join(' ');
const MOCK_TOKEN_DELAY_MS = '100';

const raw = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;
const missing = (kind: Kind) => encodeGlobalId(kind, randomUUID());
const token = () => `zq${randomBytes(5).toString('hex')}`;

/** The data of an outcome that must have no errors. */
function dataOf<T>(outcome: Outcome): T {
  expect(outcome.errors).toBeUndefined();
  return outcome.data as T;
}

/** An outcome with `id` written as <id>, to compare it with the outcome for another id. */
const blind = (outcome: Outcome, id: string) => JSON.parse(JSON.stringify(outcome).replaceAll(id, '<id>'));

/** An operation on one id; `answer` is what a foreign or missing id must get. */
interface ByIdProbe {
  name: string;
  kind: Kind;
  /** Undefined: the owner has no such row (the JWT user has no key). */
  target: (owner: Owned) => string | undefined;
  operation: (id: string) => Operation;
  subscription?: boolean;
  answer: 'NOT_FOUND' | 'null';
}

const nodeProbe = (kind: Kind, target: ByIdProbe['target'], what: string): ByIdProbe => ({
  name: `node(id) of a ${what}`,
  kind,
  target,
  operation: (id) => ({ query: 'query ($id: ID!) { node(id: $id) { id } }', variables: { id } }),
  answer: 'null',
});

const BY_ID: ByIdProbe[] = [
  nodeProbe('Conversation', (o) => o.ids.conversation, 'conversation'),
  nodeProbe('Message', (o) => o.ids.assistantMessage, 'message'),
  nodeProbe('Message', (o) => o.ids.longMessage, 'streaming message'),
  nodeProbe('Document', (o) => o.ids.document, 'document'),
  nodeProbe('Document', (o) => o.ids.upload, 'uploaded document'),
  nodeProbe('Chunk', (o) => o.ids.chunk, 'chunk'),
  nodeProbe('Memory', (o) => o.ids.memory, 'memory'),
  {
    name: 'conversation(id)',
    kind: 'Conversation',
    target: (o) => o.ids.conversation,
    operation: (id) => ({
      query: 'query ($id: ID!) { conversation(id: $id) { id title messages { edges { node { content } } } } }',
      variables: { id },
    }),
    answer: 'null',
  },
  {
    name: 'message(id)',
    kind: 'Message',
    target: (o) => o.ids.userMessage,
    operation: (id) => ({ query: 'query ($id: ID!) { message(id: $id) { id content } }', variables: { id } }),
    answer: 'null',
  },
  {
    name: 'document(id)',
    kind: 'Document',
    target: (o) => o.ids.document,
    operation: (id) => ({ query: 'query ($id: ID!) { document(id: $id) { id title } }', variables: { id } }),
    answer: 'null',
  },
  {
    name: 'document(id) of an upload',
    kind: 'Document',
    target: (o) => o.ids.upload,
    operation: (id) => ({ query: 'query ($id: ID!) { document(id: $id) { id title } }', variables: { id } }),
    answer: 'null',
  },
  {
    name: 'messageStream of a running generation',
    kind: 'Message',
    target: (o) => o.ids.longMessage,
    subscription: true,
    operation: (id) => ({
      query: 'subscription ($id: ID!) { messageStream(messageId: $id) { __typename } }',
      variables: { id },
    }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'messageStream of a finished message',
    kind: 'Message',
    target: (o) => o.ids.assistantMessage,
    subscription: true,
    operation: (id) => ({
      query: 'subscription ($id: ID!) { messageStream(messageId: $id) { __typename } }',
      variables: { id },
    }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'chat into their conversation',
    kind: 'Conversation',
    target: (o) => o.ids.conversation,
    subscription: true,
    operation: (id) => ({
      query: 'subscription ($input: SendMessageInput!) { chat(input: $input) { __typename } }',
      variables: { input: { conversationId: id, content: 'let me in' } },
    }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'sendMessage into their conversation',
    kind: 'Conversation',
    target: (o) => o.ids.conversation,
    operation: (id) => ({ query: SEND, variables: { input: { conversationId: id, content: 'let me in' } } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'cancelMessage',
    kind: 'Message',
    target: (o) => o.ids.longMessage,
    operation: (id) => ({ query: 'mutation ($id: ID!) { cancelMessage(id: $id) { id status } }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'deleteConversation',
    kind: 'Conversation',
    target: (o) => o.ids.conversation,
    operation: (id) => ({ query: 'mutation ($id: ID!) { deleteConversation(id: $id) }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'deleteConversation of a streaming one',
    kind: 'Conversation',
    target: (o) => o.ids.longConversation,
    operation: (id) => ({ query: 'mutation ($id: ID!) { deleteConversation(id: $id) }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'deleteDocument',
    kind: 'Document',
    target: (o) => o.ids.document,
    operation: (id) => ({ query: 'mutation ($id: ID!) { deleteDocument(id: $id) }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'deleteDocument of an upload',
    kind: 'Document',
    target: (o) => o.ids.upload,
    operation: (id) => ({ query: 'mutation ($id: ID!) { deleteDocument(id: $id) }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  nodeProbe('ApiKey', (o) => o.ids.apiKey, 'API key'),
  {
    name: 'revokeApiKey',
    kind: 'ApiKey',
    target: (o) => o.ids.apiKey,
    operation: (id) => ({ query: 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
  {
    name: 'forget',
    kind: 'Memory',
    target: (o) => o.ids.memory,
    operation: (id) => ({ query: 'mutation ($id: ID!) { forget(id: $id) }', variables: { id } }),
    answer: 'NOT_FOUND',
  },
];

const TRANSPORT_NAMES = Object.keys(TRANSPORTS) as TransportName[];

const BACKENDS = [
  { name: 'embedded PGlite', skip: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl },
];

for (const backend of BACKENDS)
  describe.skipIf(backend.skip)(`isolation between users (issue #15) on ${backend.name}`, () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    let server: TestServer;
    let jwks: Awaited<ReturnType<typeof startJwks>>;
    const owners: Owned[] = [];
    /** Every user's rows as the setup left them. */
    let before: Awaited<ReturnType<typeof rowsOf>>[];

    const as = (caller: Caller, operation: Operation, transport: TransportName = 'HTTP') =>
      TRANSPORTS[transport](server.url, caller.authorization, operation);

    /** Runs `operation` as `caller` over HTTP and returns its data, failing on any error. */
    async function ok<T = Record<string, unknown>>(caller: Caller, operation: Operation): Promise<T> {
      const outcome = await overHttp(server.url, caller.authorization, operation);
      expect(outcome.errors, `${caller.name}: ${operation.query}`).toBeUndefined();
      return outcome.data as T;
    }

    async function upload(caller: Caller, name: string, text: string): Promise<string> {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.file'] }));
      form.append('0', new File([text], name, { type: 'text/markdown' }), name);
      const response = await fetch(server.url, {
        method: 'POST',
        body: form,
        headers: { accept: 'application/json', authorization: caller.authorization, 'graphql-require-preflight': '1' },
      });
      const body = (await response.json()) as Outcome;
      expect(body.errors).toBeUndefined();
      return dataOf<{ uploadDocument: { id: string } }>(body).uploadDocument.id;
    }

    const status = async (caller: Caller, id: string) => {
      const node = (
        await ok<{ node: { document?: string; message?: string } | null }>(caller, {
          query:
            'query ($id: ID!) { node(id: $id) { ... on Document { document: status } ... on Message { message: status } } }',
          variables: { id },
        })
      ).node;
      return node?.document ?? node?.message;
    };

    /**
     * The rows a user made in the setup, and whatever now hangs off them (a message sent into one
     * of their conversations by anyone is found here). A memory's recall stamps (`lastRecalledAt`,
     * `updatedAt`) are left out: each user recalls their own memories in these tests; the list
     * test checks that another user's recall leaves them as they were.
     */
    async function rowsOf(owner: Owned) {
      const db = server.app.database.prisma;
      const conversations = [raw(owner.ids.conversation), raw(owner.ids.longConversation)];
      const documents = [raw(owner.ids.document), raw(owner.ids.upload)];
      const order = { id: 'asc' } as const;
      const [messages, running] = await Promise.all([
        db.message.findMany({
          where: { conversationId: { in: conversations }, id: { not: raw(owner.ids.longMessage) } },
          include: { citations: true },
          orderBy: order,
        }),
        db.message.findUnique({ where: { id: raw(owner.ids.longMessage) }, select: { userId: true, status: true } }),
      ]);
      return {
        conversations: await db.conversation.findMany({ where: { id: { in: conversations } }, orderBy: order }),
        messages,
        running,
        documents: await db.document.findMany({ where: { id: { in: documents } }, orderBy: order }),
        chunks: await db.chunk.findMany({ where: { documentId: { in: documents } }, orderBy: order }),
        memories: (await db.memory.findMany({ where: { id: raw(owner.ids.memory) } })).map(
          ({ lastRecalledAt: _r, updatedAt: _u, ...memory }) => memory,
        ),
        apiKeys: (await db.apiKey.findMany({ where: { userId: owner.caller.userId }, orderBy: order })).map(
          ({ lastUsedAt: _l, ...key }) => key,
        ),
      };
    }

    beforeAll(async () => {
      jwks = await startJwks();
      scratch = backend.name === 'embedded PGlite' ? undefined : await createScratchDatabase(postgresUrl as string);
      const services = scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl as string } : {};
      server = await startTestServer({ ...jwksEnv(jwks), MOCK_TOKEN_DELAY_MS, ...services });
      const db = server.app.database.prisma;
      const carol: Caller & { apiKeyId?: string } = {
        name: 'carol',
        userId: '',
        authorization: `Bearer ${await jwks.sign('carol-subject', { name: 'Carol' })}`,
      };
      const callers = [await keyCaller(db, 'alice'), await keyCaller(db, 'bob'), carol];

      for (const caller of callers) {
        const secret = token();
        const uploadSecret = token();
        const memoryText = `${caller.name} keeps bees called ${token()}`;
        const uploadText = `# ${caller.name}'s upload\n\nThe hive ledger mentions ${uploadSecret} twice: ${uploadSecret}.`;
        const memory = await ok<{ remember: { id: string } }>(caller, {
          query: 'mutation ($input: RememberInput!) { remember(input: $input) { id } }',
          variables: { input: { content: memoryText } },
        });
        const document = await ok<{ ingestDocument: { id: string } }>(caller, {
          query: 'mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }',
          variables: {
            input: { title: `${caller.name}'s notes`, content: `The hive notes of ${caller.name} say ${secret}.` },
          },
        });
        const uploaded = await upload(caller, `${caller.name}.md`, uploadText);
        for (const id of [document.ingestDocument.id, uploaded]) {
          await eventually(
            () => status(caller, id),
            (s) => s === 'READY',
            { what: `${caller.name}'s document ${id} READY` },
          );
        }
        // Grounded in their own documents and memory, so the stored message has citations.
        const sent = await ok<{
          sendMessage: { conversation: { id: string }; userMessage: { id: string }; assistantMessage: { id: string } };
        }>(caller, {
          query: SEND,
          variables: {
            input: { content: `what do the hive notes say, ${caller.name}?`, useDocuments: true, useMemory: true },
          },
        });
        const long = await ok<{ sendMessage: { conversation: { id: string }; assistantMessage: { id: string } } }>(
          caller,
          { query: SEND, variables: { input: { content: LONG_CONTENT } } },
        );
        const userId = (
          await db.conversation.findUniqueOrThrow({ where: { id: raw(sent.sendMessage.conversation.id) } })
        ).userId;
        caller.userId = userId;
        const chunk = await db.chunk.findFirstOrThrow({ where: { documentId: raw(document.ingestDocument.id) } });
        owners.push({
          caller,
          secret,
          uploadSecret,
          memoryText,
          uploadText,
          ids: {
            conversation: sent.sendMessage.conversation.id,
            userMessage: sent.sendMessage.userMessage.id,
            assistantMessage: sent.sendMessage.assistantMessage.id,
            longConversation: long.sendMessage.conversation.id,
            longMessage: long.sendMessage.assistantMessage.id,
            document: document.ingestDocument.id,
            upload: uploaded,
            chunk: encodeGlobalId('Chunk', chunk.id),
            memory: memory.remember.id,
            apiKey: caller.apiKeyId === undefined ? undefined : encodeGlobalId('ApiKey', caller.apiKeyId),
          },
        });
      }
      expect(new Set(owners.map((o) => o.caller.userId)).size).toBe(3);
      for (const owner of owners) {
        await eventually(
          () => status(owner.caller, owner.ids.assistantMessage),
          (s) => s === 'COMPLETE',
          { what: `${owner.caller.name}'s grounded reply COMPLETE` },
        );
        // The control: the owner sees what the others must not.
        const citations = await server.app.database.prisma.citation.findMany({
          where: { messageId: raw(owner.ids.assistantMessage) },
        });
        expect(citations.length, `${owner.caller.name}'s reply cites their documents`).toBeGreaterThan(0);
      }
      before = await Promise.all(owners.map(rowsOf));
    });

    afterAll(async () => {
      await server?.close();
      await jwks?.close();
      await scratch?.drop();
    });

    /** Every ordered pair of different users. */
    const pairs = () =>
      owners.flatMap((intruder) => owners.filter((o) => o !== intruder).map((victim) => ({ intruder, victim })));

    const applicable = BY_ID.flatMap((probe) =>
      TRANSPORT_NAMES.filter((t) => !(probe.subscription && t === 'HTTP')).map((transport) => ({ probe, transport })),
    );

    it.each(applicable.map((c) => [c.probe.name, c.transport, c] as const))(
      "%s over %s: another user's id answers as a missing one does",
      async (_name, transport, { probe }) => {
        for (const { intruder, victim } of pairs()) {
          const theirs = probe.target(victim);
          if (theirs === undefined) continue;
          const nowhere = missing(probe.kind);
          const [foreign, absent] = await Promise.all([
            as(intruder.caller, probe.operation(theirs), transport),
            as(intruder.caller, probe.operation(nowhere), transport),
          ]);
          const label = `${intruder.caller.name} on ${victim.caller.name}'s ${probe.name} over ${transport}`;
          if (probe.answer === 'NOT_FOUND') {
            expect(
              foreign.errors?.map((e) => e.extensions?.code),
              label,
            ).toEqual(['NOT_FOUND']);
          } else {
            expect(foreign.errors, label).toBeUndefined();
            expect(Object.values(foreign.data ?? {}), label).toEqual([null]);
          }
          expect(blind(foreign, theirs), label).toEqual(blind(absent, nowhere));
        }
      },
    );

    /** The ids of the nodes a connection or list answered. */
    const idsIn = (value: unknown): string[] =>
      JSON.stringify(value)
        .match(/"id":"([^"]+)"/g)
        ?.map((m) => m.slice(6, -1)) ?? [];
    const documentIdsOf = (o: Owned) => [o.ids.document, o.ids.upload];

    const LISTS: {
      name: string;
      operation: (intruder: Owned, victim: Owned) => Operation;
      /** The intruder's own ids it must answer (the control); none of the victim's. */
      own: (intruder: Owned) => string[];
    }[] = [
      {
        name: 'conversations',
        operation: () => ({ query: '{ conversations(first: 50) { edges { node { id } } } }' }),
        own: (o) => [o.ids.conversation, o.ids.longConversation],
      },
      {
        name: 'documents',
        operation: () => ({ query: '{ documents(first: 50) { edges { node { id } } } }' }),
        own: documentIdsOf,
      },
      {
        name: 'apiKeys',
        operation: () => ({ query: '{ apiKeys(first: 50) { edges { node { id } } } }' }),
        own: (o) => (o.ids.apiKey ? [o.ids.apiKey] : []),
      },
      {
        name: 'memories',
        operation: () => ({ query: '{ memories(first: 50) { edges { node { id } } } }' }),
        own: (o) => [o.ids.memory],
      },
      {
        name: "search (HYBRID) for the victim's words",
        operation: (_i, victim) => ({
          query: 'query ($q: String!) { search(query: $q, k: 50) { document { id } chunk { id } } }',
          // websearch_to_tsquery: either word finds their document by keyword.
          variables: { q: `${victim.secret} or ${victim.uploadSecret}` },
        }),
        own: documentIdsOf,
      },
      {
        name: "recall of the victim's memory",
        operation: (_i, victim) => ({
          query: 'query ($q: String!) { recall(query: $q, k: 50) { memory { id } } }',
          variables: { q: victim.memoryText },
        }),
        own: (o) => [o.ids.memory],
      },
    ];

    it.each(LISTS.flatMap((list) => TRANSPORT_NAMES.map((t) => [list.name, t, list] as const)))(
      '%s over %s lists only what the viewer owns',
      async (_name, transport, list) => {
        const memoryOf = (o: Owned) =>
          server.app.database.prisma.memory.findUniqueOrThrow({ where: { id: raw(o.ids.memory) } });
        for (const { intruder, victim } of pairs()) {
          const victimsMemory = await memoryOf(victim);
          const outcome = await as(intruder.caller, list.operation(intruder, victim), transport);
          const label = `${intruder.caller.name}'s ${list.name} over ${transport}`;
          // Not even a recall stamp on theirs.
          expect(await memoryOf(victim), label).toEqual(victimsMemory);
          expect(outcome.errors, label).toBeUndefined();
          const ids = idsIn(outcome.data);
          expect(ids, label).toEqual(expect.arrayContaining(list.own(intruder)));
          const foreign = owners.filter((o) => o !== intruder).flatMap((o) => Object.values(o.ids));
          expect(
            ids.filter((id) => foreign.includes(id)),
            label,
          ).toEqual([]);
        }
      },
    );

    it.each(TRANSPORT_NAMES)(
      "KEYWORD search for another user's words over %s finds what a word nobody wrote finds",
      async (transport) => {
        for (const { intruder, victim } of pairs()) {
          const search = (q: string) =>
            as(
              intruder.caller,
              { query: 'query ($q: String!) { search(query: $q, mode: KEYWORD) { chunk { id } } }', variables: { q } },
              transport,
            );
          const [theirs, nobodys] = await Promise.all([search(victim.secret), search(token())]);
          expect(theirs, `${intruder.caller.name} searching ${victim.caller.name}'s word`).toEqual(nobodys);
          expect(theirs.data).toEqual({ search: [] });
          // The control: the owner finds it.
          const own = await as(
            victim.caller,
            {
              query: 'query ($q: String!) { search(query: $q, mode: KEYWORD) { chunk { id } } }',
              variables: { q: victim.secret },
            },
            transport,
          );
          expect(dataOf<{ search: unknown[] }>(own).search.length).toBeGreaterThan(0);
        }
      },
    );

    const CITED = 'citations { document { id } chunk { id } }';

    it.each(TRANSPORT_NAMES)("a grounded answer over %s cites only the viewer's documents", async (transport) => {
      const askAbout = async ({ intruder, victim }: { intruder: Owned; victim: Owned }) => {
        const content = `${victim.secret} or ${victim.uploadSecret}`;
        const input = { content, useDocuments: true };
        let messageId: string;
        if (transport === 'HTTP') {
          const sent = await ok<{ sendMessage: { assistantMessage: { id: string } } }>(intruder.caller, {
            query: SEND,
            variables: { input },
          });
          messageId = sent.sendMessage.assistantMessage.id;
        } else {
          // The first event of chat is a delta naming the message.
          const first = await as(
            intruder.caller,
            {
              query: `subscription ($input: SendMessageInput!) { chat(input: $input) {
              ... on MessageDelta { messageId } ... on MessageCompleted { message { id } } } }`,
              variables: { input },
            },
            transport,
          );
          expect(first.errors).toBeUndefined();
          const event = first.data?.chat as { messageId?: string; message?: { id: string } };
          messageId = (event.messageId ?? event.message?.id) as string;
        }
        const done = await eventually(
          () =>
            as(intruder.caller, {
              query: `query ($id: ID!) { message(id: $id) { status ${CITED} } }`,
              variables: { id: messageId },
            }),
          (o) => (o.data?.message as { status: string } | undefined)?.status === 'COMPLETE',
          { what: `${intruder.caller.name}'s grounded reply COMPLETE` },
        );
        const cited = idsIn(dataOf<{ message: { citations: unknown } }>(done).message.citations);
        expect(cited.length, 'the answer cites something (its own documents)').toBeGreaterThan(0);
        const mine = [...documentIdsOf(intruder)];
        const myChunks = (
          await server.app.database.prisma.chunk.findMany({ where: { userId: intruder.caller.userId } })
        ).map((c) => encodeGlobalId('Chunk', c.id));
        expect(cited.filter((id) => !mine.includes(id) && !myChunks.includes(id))).toEqual([]);
        const stored = await server.app.database.prisma.citation.findMany({
          where: { messageId: raw(messageId) },
          include: { document: true, chunk: true },
        });
        expect(stored.length).toBeGreaterThan(0);
        for (const citation of stored) {
          expect(citation.document.userId).toBe(intruder.caller.userId);
          expect(citation.chunk.userId).toBe(intruder.caller.userId);
        }
      };
      await Promise.all(pairs().map(askAbout));
    });

    it('nothing of any user changed, and each running generation still runs until its owner cancels it', async () => {
      expect(await Promise.all(owners.map(rowsOf))).toEqual(before);
      for (const owner of owners) {
        expect(await status(owner.caller, owner.ids.longMessage)).toBe('STREAMING');
        const cancelled = await as(owner.caller, {
          query: 'mutation ($id: ID!) { cancelMessage(id: $id) { status } }',
          variables: { id: owner.ids.longMessage },
        });
        expect(cancelled.data).toEqual({ cancelMessage: { status: 'CANCELLED' } });
      }
    });

    it.each(TRANSPORT_NAMES)(
      "reembed over %s moves only the viewer's own documents and memories",
      async (transport) => {
        const db = server.app.database.prisma;
        for (const { intruder, victim } of pairs()) {
          // The victim's vectors look as if made by another model; the intruder's do not.
          await db.chunk.updateMany({ where: { userId: victim.caller.userId }, data: { embeddingModel: 'old-model' } });
          await db.$executeRaw`UPDATE "memories" SET "embedding_model" = 'old-model' WHERE "user_id" = ${victim.caller.userId}::uuid`;
          const outcome = await as(
            intruder.caller,
            { query: 'mutation { reembed { documents memories } }' },
            transport,
          );
          expect(outcome.errors).toBeUndefined();
          expect(outcome.data).toEqual({ reembed: { documents: 0, memories: 0 } });
          expect(
            await db.chunk.count({ where: { userId: victim.caller.userId, embeddingModel: { not: 'old-model' } } }),
          ).toBe(0);
          expect(
            await db.memory.count({ where: { userId: victim.caller.userId, embeddingModel: { not: 'old-model' } } }),
          ).toBe(0);
          // The control: the owner's reembed moves them back.
          const own = await as(victim.caller, { query: 'mutation { reembed { documents memories } }' });
          expect(own.data).toEqual({ reembed: { documents: 2, memories: 1 } });
          for (const id of documentIdsOf(victim)) {
            await eventually(
              () => status(victim.caller, id),
              (s) => s === 'READY',
              { what: `${victim.caller.name}'s document READY again` },
            );
          }
        }
      },
    );

    it.each(TRANSPORT_NAMES)(
      'the same document and memory sent again over %s by another user are theirs, not a link to the first',
      async (transport) => {
        for (const { intruder, victim } of pairs()) {
          const ingested = await as(
            intruder.caller,
            {
              query: 'mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }',
              variables: {
                input: { title: 'copy', content: `The hive notes of ${victim.caller.name} say ${victim.secret}.` },
              },
            },
            transport,
          );
          const remembered = await as(
            intruder.caller,
            {
              query: 'mutation ($input: RememberInput!) { remember(input: $input) { id content } }',
              variables: { input: { content: victim.memoryText, importance: 1 } },
            },
            transport,
          );
          for (const outcome of [ingested, remembered]) expect(outcome.errors).toBeUndefined();
          const documentId = dataOf<{ ingestDocument: { id: string } }>(ingested).ingestDocument.id;
          const memoryId = dataOf<{ remember: { id: string } }>(remembered).remember.id;
          expect(documentId).not.toBe(victim.ids.document);
          expect(memoryId).not.toBe(victim.ids.memory);
          const db = server.app.database.prisma;
          expect((await db.document.findUniqueOrThrow({ where: { id: raw(documentId) } })).userId).toBe(
            intruder.caller.userId,
          );
          expect((await db.memory.findUniqueOrThrow({ where: { id: raw(memoryId) } })).userId).toBe(
            intruder.caller.userId,
          );
          expect((await db.memory.findUniqueOrThrow({ where: { id: raw(victim.ids.memory) } })).importance).toBe(0.5);
        }
      },
    );

    it('an uploaded file already uploaded by another user becomes a document of the uploader', async () => {
      for (const { intruder, victim } of pairs()) {
        const id = await upload(intruder.caller, `${victim.caller.name}.md`, victim.uploadText);
        expect(id).not.toBe(victim.ids.upload);
        const row = await server.app.database.prisma.document.findUniqueOrThrow({ where: { id: raw(id) } });
        expect(row.userId).toBe(intruder.caller.userId);
      }
    });
  });
