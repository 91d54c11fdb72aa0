import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { createLocalEmbedder } from '../../src/embeddings/index.js';
import { AppError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { HeavyResult, HeavyTask } from '../../src/rag/heavy-tasks.js';
import { createHeavyWork, type HeavyWork } from '../../src/rag/heavy-work.js';
import { createIndexer } from '../../src/rag/indexer.js';
import { workerFile } from '../../src/util/worker-file.js';
import { createWorkerPool, PoolBusy, WorkerCancelled, WorkerTimeout } from '../../src/workers/worker-pool.js';
import { bigMarkdown } from '../fixtures/big-markdown.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/** The heavy-work thread's own entry, as HeavyWork starts it (a .ts file under tsx here). */
const file = workerFile(new URL('../../src/rag/heavy-work.ts', import.meta.url).href, 'heavy-worker');
const chunkTask = (content: string): HeavyTask => ({ kind: 'chunk', content, mimeType: 'text/markdown' });
const SMALL = '# Small\n\nOne short paragraph.';
const LARGE = bigMarkdown(3_000_000, 3);

describe('worker pool', () => {
  it('terminates a task past its time, and runs the next one on a fresh thread', async () => {
    const pool = createWorkerPool<HeavyTask, HeavyResult>({ name: 'test', file, threads: 1, timeoutMs: 120_000 });
    try {
      // Warm: the thread is up, so the short bound below measures the task alone.
      expect(await pool.run(chunkTask(SMALL))).toHaveLength(1);
      expect(pool.stats().threads).toBe(1);
      await expect(pool.run(chunkTask(LARGE), { timeoutMs: 50 })).rejects.toBeInstanceOf(WorkerTimeout);
      expect(pool.stats()).toMatchObject({ running: 0, timedOut: 1, completed: 1 });
      expect(await pool.run(chunkTask(SMALL))).toHaveLength(1);
      expect(pool.stats()).toMatchObject({ running: 0, timedOut: 1, completed: 2 });
    } finally {
      await pool.close();
    }
  });

  it('cancels a waiting task without a thread, a running one by terminating its thread; refuses past the line', async () => {
    const pool = createWorkerPool<HeavyTask, HeavyResult>({
      name: 'test',
      file,
      threads: 1,
      maxWaiting: 1,
      timeoutMs: 120_000,
    });
    try {
      const runningCancel = new AbortController();
      const waitingCancel = new AbortController();
      const first = pool.run(chunkTask(LARGE), { signal: runningCancel.signal });
      const second = pool.run(chunkTask(LARGE), { signal: waitingCancel.signal });
      await expect(pool.run(chunkTask(SMALL))).rejects.toBeInstanceOf(PoolBusy);
      expect(pool.stats()).toMatchObject({ running: 1, waiting: 1 });

      waitingCancel.abort();
      await expect(second).rejects.toBeInstanceOf(WorkerCancelled);
      expect(pool.stats()).toMatchObject({ running: 1, waiting: 0, cancelled: 1 });

      runningCancel.abort();
      await expect(first).rejects.toBeInstanceOf(WorkerCancelled);
      expect(pool.stats()).toMatchObject({ running: 0, waiting: 0, cancelled: 2, completed: 0 });
      expect(await pool.run(chunkTask(SMALL))).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });

  it('refuses an upload whose reading runs past its time with BAD_USER_INPUT', async () => {
    // 1 ms: no thread even starts that fast, so the bound always strikes.
    const heavy = createHeavyWork({ extractTimeoutMs: 1 });
    try {
      const error = await heavy.extractText(new TextEncoder().encode('plain words'), 'text/plain').catch((e) => e);
      expect(AppError.isInstance(error) && error.code).toBe('BAD_USER_INPUT');
      expect((error as Error).message).toMatch(/took longer than 0\.001 s to read/);
      expect(heavy.stats().extraction).toMatchObject({ timedOut: 1, running: 0 });
    } finally {
      await heavy.close();
    }
  });
});

describe('indexing on worker threads (embedded default)', () => {
  let server: TestServer;
  const heavies: HeavyWork[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await Promise.all(heavies.map((h) => h.close()));
    await server?.close();
  });

  const indexerWith = (heavy: HeavyWork) => {
    heavies.push(heavy);
    return createIndexer({
      db: server.app.database.prisma,
      sql: server.app.database.sql,
      embedder: createLocalEmbedder({ offload: heavy.embed }),
      chunk: heavy.chunk,
      logger: createLogger('silent'),
    });
  };
  const pending = async (title: string, content: string) => {
    const document = await server.app.database.prisma.document.create({
      data: { userId: DEFAULT_USER_ID, title, content, contentHash: title, mimeType: 'text/markdown' },
    });
    return { id: document.id, since: document.updatedAt };
  };

  it('a document whose chunking runs past its time ends FAILED with a clear error and no chunks', async () => {
    const indexer = indexerWith(createHeavyWork({ indexTimeoutMs: 1 }));
    const { id, since } = await pending('too slow', LARGE);
    indexer.start(id, since);
    await indexer.idle();
    const document = await server.app.database.prisma.document.findUniqueOrThrow({ where: { id } });
    expect(document).toMatchObject({ status: 'FAILED', chunkCount: 0 });
    expect(document.error).toBe('chunking the document took longer than 0.001 s');
    expect(await server.app.database.prisma.chunk.count({ where: { documentId: id } })).toBe(0);
  });

  it('a job superseded by a newer one for the same document is cancelled; the document is indexed once', async () => {
    const heavy = createHeavyWork();
    const indexer = indexerWith(heavy);
    const { id, since } = await pending('indexed twice', LARGE);
    indexer.start(id, since);
    await eventually(
      () => heavy.stats().indexing.running,
      (n) => n > 0,
      { what: 'the first job chunking on a thread', everyMs: 5 },
    );
    // As reembed does (PENDING again, then a new job), with text that indexes at once.
    const again = await server.app.database.prisma.document.update({
      where: { id },
      data: { status: 'PENDING', content: SMALL },
    });
    indexer.start(id, again.updatedAt);
    await indexer.idle();
    expect(heavy.stats().indexing).toMatchObject({ cancelled: 1, running: 0 });
    const document = await server.app.database.prisma.document.findUniqueOrThrow({ where: { id } });
    expect(document).toMatchObject({ status: 'READY', chunkCount: 1 });
    const ordinals = (
      await server.app.database.prisma.chunk.findMany({ where: { documentId: id }, orderBy: { ordinal: 'asc' } })
    ).map((c) => c.ordinal);
    expect(ordinals).toEqual(Array.from({ length: document.chunkCount }, (_, i) => i));
  }, 600_000);
});
