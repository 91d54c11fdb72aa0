import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOpenAIFake } from './fakes/index.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { collect, STREAM_EVENT_FIELDS, wsClient } from './helpers/subscribe.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const INGEST = `mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;
const MESSAGE = `query ($id: ID!) { message(id: $id) { status content
  citations { score document { title } chunk { content } } } }`;

interface ChatBody {
  messages: { role: string; content: string }[];
}

const backends = [
  { name: 'embedded PGlite', skip: false },
  { name: 'Postgres from DATABASE_URL', skip: !postgresUrl },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`chat grounded in documents and memories on ${backend.name}`, () => {
    let server: TestServer;
    let openai: FakeServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;

    beforeAll(async () => {
      openai = await startOpenAIFake();
      scratch =
        postgresUrl && !backend.skip && backend.name.startsWith('Postgres')
          ? await createScratchDatabase(postgresUrl)
          : undefined;
      server = await startTestServer({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: openai.baseURL,
        ...(scratch ? { DATABASE_URL: scratch.url } : {}),
      });
      const docs = [
        {
          title: 'Lighthouse manual',
          content: 'The Skerry lighthouse lamp is serviced every Thursday by keeper Ingrid Holm.',
        },
        { title: 'Bakery notes', content: 'Rye loaves need a long cold proof before baking at high heat.' },
      ];
      for (const doc of docs) {
        const r = await server.query<{ ingestDocument: { id: string } }>(INGEST, {
          input: { ...doc, collection: 'notes' },
        });
        expect(r.errors).toBeUndefined();
      }
      await eventually(
        () => server.app.database.prisma.document.count({ where: { status: 'READY' } }),
        (ready) => ready === docs.length,
        { what: `${docs.length} READY documents` },
      );
      await server.query(
        'mutation { remember(input: { content: "The user prefers answers in French", importance: 0.9 }) { id } }',
      );
    });
    afterAll(async () => {
      await server?.close();
      await openai?.close();
      await scratch?.drop();
    });

    const chat = async (input: Record<string, unknown>) => {
      const sent = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
        input: { provider: 'openai', model: 'gpt-4o-mini', ...input },
      });
      expect(sent.errors).toBeUndefined();
      const id = sent.data?.sendMessage.assistantMessage.id as string;
      const client = wsClient(server.wsUrl);
      try {
        await collect(client, STREAM, { id }, 'messageStream').done;
      } finally {
        await client.dispose();
      }
      const upstream = openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)?.body as ChatBody;
      const message = await server.query<{
        message: {
          status: string;
          citations: { score: number; document: { title: string }; chunk: { content: string } }[];
        };
      }>(MESSAGE, { id });
      return { upstream, message: message.data?.message };
    };

    it('useDocuments puts the retrieved text in the prompt and cites it on the message', async () => {
      const { upstream, message } = await chat({
        content: 'Who services the lighthouse lamp?',
        useDocuments: true,
        collection: 'notes',
      });
      const system = upstream.messages.find((m) => m.role === 'system')?.content ?? '';
      expect(system).toContain('[1] Lighthouse manual');
      expect(system).toContain('keeper Ingrid Holm');
      expect(message?.status).toBe('COMPLETE');
      expect(message?.citations[0]).toMatchObject({ document: { title: 'Lighthouse manual' } });
      expect(message?.citations[0]?.chunk.content).toContain('Ingrid Holm');
      expect(message?.citations[0]?.score).toBeGreaterThan(0);
      const row = await server.app.database.prisma.message.findFirstOrThrow({
        where: { role: 'ASSISTANT' },
        orderBy: { createdAt: 'desc' },
      });
      const plain = await chat({ content: 'Who services the lighthouse lamp?' });
      const plainRow = await server.app.database.prisma.message.findFirstOrThrow({
        where: { role: 'ASSISTANT' },
        orderBy: { createdAt: 'desc' },
      });
      expect(plain.message?.citations).toEqual([]);
      expect(row.contextTokens).toBeGreaterThan(plainRow.contextTokens as number);
    });

    it('useMemory recalls the viewer’s memories into the system prompt', async () => {
      const { upstream } = await chat({ content: 'How should you answer me?', useMemory: true });
      const system = upstream.messages.find((m) => m.role === 'system')?.content ?? '';
      expect(system).toContain('The user prefers answers in French');
      const without = await chat({ content: 'How should you answer me?' });
      expect(without.upstream.messages.some((m) => m.role === 'system')).toBe(false);
    });
  });
}
