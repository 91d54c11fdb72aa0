import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { createLocalEmbedder, type Embedder } from '../../src/embeddings/index.js';
import { createLogger } from '../../src/logger.js';
import { createIndexer } from '../../src/rag/indexer.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const STALE_MS = 10 * 60_000;
/** About eight chunks: several batches of two. */
const TEXT = Array.from(
  { length: 8 },
  (_, i) => `## Part ${i}\n\n${Array.from({ length: 260 }, (_, j) => `word${i}x${j}`).join(' ')}`,
).join('\n\n');

/** The local embedder, but each call waits for the test to let it through (or fail). */
function gatedEmbedder() {
  const inner = createLocalEmbedder();
  const waiting: { pass: () => void; fail: (error: Error) => void }[] = [];
  let open = 0;
  const embedder: Embedder = {
    model: inner.model,
    dimensions: inner.dimensions,
    async embed(texts) {
      if (open > 0) open--;
      else await new Promise<void>((pass, fail) => waiting.push({ pass, fail }));
      return inner.embed(texts);
    },
  };
  return {
    embedder,
    /** Lets the next `n` calls through. */
    allow(n: number) {
      open += n;
      while (open > 0 && waiting.length > 0) {
        open--;
        waiting.shift()?.pass();
      }
    },
    failNext(error: Error) {
      waiting.shift()?.fail(error);
    },
    get waiting() {
      return waiting.length;
    },
  };
}

const backends = [
  { name: 'the embedded default', skip: false },
  { name: 'Postgres', skip: !postgresUrl },
];

for (const backend of backends)
  describe.skipIf(backend.skip)(`indexing shared by instances, on ${backend.name}`, () => {
    let server: TestServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    beforeAll(async () => {
      scratch = backend.name === 'Postgres' ? await createScratchDatabase(postgresUrl as string) : undefined;
      server = await startTestServer(scratch ? { DATABASE_URL: scratch.url } : {});
      await server.app.bootstrapped;
    });
    afterAll(async () => {
      await server?.close();
      await scratch?.drop();
    });

    /** An indexer as another instance on the same database would have it. */
    const instance = (embedder: Embedder = createLocalEmbedder()) =>
      createIndexer({
        db: server.app.database.prisma,
        sql: server.app.database.sql,
        embedder,
        logger: createLogger('silent'),
        batchSize: 2,
      });
    /** A PENDING document left untouched for longer than an instance waits before taking it over. */
    const stalePending = async (title: string) => {
      const since = new Date(Date.now() - STALE_MS - 60_000);
      const document = await server.app.database.prisma.document.create({
        data: {
          userId: DEFAULT_USER_ID,
          title,
          content: TEXT,
          contentHash: title,
          mimeType: 'text/markdown',
          updatedAt: since,
        },
      });
      return { id: document.id, since: document.updatedAt };
    };
    const stored = async (id: string) => {
      const prisma = server.app.database.prisma;
      const document = await prisma.document.findUniqueOrThrow({ where: { id } });
      const chunks = await prisma.chunk.findMany({ where: { documentId: id }, orderBy: { ordinal: 'asc' } });
      return { status: document.status, chunkCount: document.chunkCount, ordinals: chunks.map((c) => c.ordinal) };
    };
    const makeStale = (id: string) =>
      server.app.database.prisma.document.update({
        where: { id },
        data: { updatedAt: new Date(Date.now() - STALE_MS - 60_000) },
      });

    it('a document still queued on one instance, taken over by another, is indexed once', async () => {
      const { id, since } = await stalePending('queued elsewhere');
      const b = instance();
      expect(await b.resume(STALE_MS)).toBeGreaterThanOrEqual(1);
      await b.idle();
      const indexed = await stored(id);
      expect(indexed.status).toBe('READY');
      expect(indexed.chunkCount).toBeGreaterThan(2);
      expect(indexed.ordinals).toEqual(Array.from({ length: indexed.chunkCount }, (_, i) => i));

      // The first instance's job finally gets its turn, with the mark it queued the document at.
      const a = instance();
      a.start(id, since);
      await a.idle();
      expect(await stored(id)).toEqual(indexed);
    });

    it('a job that went silent mid-way and lost its document writes nothing more, nor a failure', async () => {
      for (const ending of ['resumes', 'fails'] as const) {
        const { id, since } = await stalePending(`silent then ${ending}`);
        const gateA = gatedEmbedder();
        const a = instance(gateA.embedder);
        gateA.allow(1);
        a.start(id, since);
        // One batch written, the next one waiting on the embedder.
        expect(
          await eventually(
            async () => gateA.waiting,
            (n) => n === 1,
          ),
        ).toBe(1);
        expect(await stored(id)).toMatchObject({ status: 'INDEXING', chunkCount: 2, ordinals: [0, 1] });

        // Ten minutes of silence later another instance takes it over, and is itself mid-way
        // (INDEXING, one batch written) when the first one wakes up.
        await makeStale(id);
        const gateB = gatedEmbedder();
        const b = instance(gateB.embedder);
        gateB.allow(1);
        expect(await b.resume(STALE_MS)).toBeGreaterThanOrEqual(1);
        expect(
          await eventually(
            async () => gateB.waiting,
            (n) => n === 1,
          ),
        ).toBe(1);
        const taken = await stored(id);
        expect(taken).toMatchObject({ status: 'INDEXING', chunkCount: 2, ordinals: [0, 1] });

        if (ending === 'resumes') gateA.allow(100);
        else gateA.failNext(new Error('embedder went away'));
        await a.idle();
        expect(await stored(id)).toEqual(taken);

        gateB.allow(100);
        await b.idle();
        const indexed = await stored(id);
        expect(indexed.status).toBe('READY');
        expect(indexed.chunkCount).toBeGreaterThan(2);
        expect(indexed.ordinals).toEqual(Array.from({ length: indexed.chunkCount }, (_, i) => i));
        expect(await server.app.database.prisma.document.findUnique({ where: { id } })).toMatchObject({ error: null });
      }
    });

    it('a failure on a document the job still owns is recorded, with no chunk left', async () => {
      const { id, since } = await stalePending('fails while owned');
      const gate = gatedEmbedder();
      const a = instance(gate.embedder);
      gate.allow(1);
      a.start(id, since);
      expect(
        await eventually(
          async () => gate.waiting,
          (n) => n === 1,
        ),
      ).toBe(1);
      gate.failNext(new Error('embedder went away'));
      await a.idle();
      expect(await stored(id)).toEqual({ status: 'FAILED', chunkCount: 0, ordinals: [] });
      expect(await server.app.database.prisma.document.findUnique({ where: { id } })).toMatchObject({
        error: 'embedder went away',
      });
    });
  });
