import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import type { Embedder } from '../embeddings/index.js';
import { vectorBinaryParam } from '../embeddings/vector-sql.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { createTokenCounter } from '../util/count-tokens.js';
import { type Chunk, type ChunkMimeType, chunkDocument } from './chunking/index.js';

export interface Indexer {
  /**
   * Indexes a PENDING document in the background: PENDING -> INDEXING -> READY or FAILED, with
   * any chunks it had replaced. `pendingSince` is the document's updatedAt as the caller made it
   * PENDING: the job claims the document only if it is still so (see `claim`).
   */
  start(documentId: string, pendingSince: Date): void;
  /** Stops the document's job, if one is under way: its worker task is terminated, nothing more is written. */
  cancel(documentId: string): void;
  /** Waits for every indexing job under way (shutdown, tests). */
  idle(): Promise<void>;
  /** Cancels every job and waits for them (shutdown): their documents stay as they are, for `resume`. */
  stop(): Promise<void>;
  /**
   * Restarts indexing cut off by a crash: documents still PENDING or INDEXING and untouched for
   * `staleMs` (0 takes all: an embedded database has no other instance that could be working).
   */
  resume(staleMs: number): Promise<number>;
  /** Documents waiting for an indexing slot here, and being indexed here (metrics read it at scrape). */
  depth(): { queued: number; indexing: number };
}

/** The claimed document, as indexing needs it. */
interface Claimed {
  userId: string;
  mimeType: string;
  content: string;
  /** The job's mark: every later write of the job requires it and moves it on. */
  updatedAt: Date;
}

/** The document's mark moved: another instance took it over, or it was deleted. */
class TakenOver extends Error {}

export interface IndexerDeps {
  db: Db;
  /** Writes the chunk batches (the bulk of indexing's statements), without Prisma's per-parameter work. */
  sql: SqlRunner;
  embedder: Embedder;
  /** Chunks a document; HeavyWork.chunk does it on a worker thread. Default: here, on the event loop. */
  chunk?: (content: string, mimeType: ChunkMimeType, signal: AbortSignal) => Promise<Chunk[]>;
  logger: Logger;
  /** Chunks embedded and written per batch (one INSERT); chunkCount grows by this as indexing progresses. */
  batchSize?: number;
  /**
   * Documents indexed at once; more wait their turn in arrival order. Each HNSW insert is CPU in
   * the database, so a burst of documents indexed side by side only contends for the same cores
   * and the graph's pages, and every document takes longer to become READY.
   */
  concurrency?: number;
  /** Told how many chunks each written batch held (metrics). */
  onChunksWritten?: (count: number) => void;
}

/**
 * Chunks a document, embeds the chunks in batches and writes them with their vectors; the
 * `tsvector` column fills itself. Progress shows as a growing `chunkCount`; a failure removes
 * the chunks written so far and records the reason, so nothing half-indexed is ever searched.
 *
 * Instances share the documents table, so a job owns its document by the `updated_at` it last
 * wrote: every write of the job is conditional on it and moves it on. Another instance that takes
 * the document over (`resume`, after a job went silent) changes it, and the first job then stops
 * without writing anything more, instead of indexing the document a second time.
 */
export function createIndexer({
  db,
  sql,
  embedder,
  chunk,
  logger,
  batchSize = 256,
  concurrency = 2,
  onChunksWritten,
}: IndexerDeps): Indexer {
  const jobs = new Set<Promise<void>>();
  /** The running job's cancel switch, per document: a new job for it, or its deletion, aborts the old one. */
  const controllers = new Map<string, AbortController>();
  // one for every document: words that recur across documents are tokenized once
  const tokenCounter = createTokenCounter();
  const chunkDocumentWith =
    chunk ?? (async (content: string, mimeType: ChunkMimeType) => chunkDocument(content, { mimeType, tokenCounter }));
  // At most `concurrency` documents are chunked, embedded and written at once; the rest wait their turn.
  const limit = pLimit(concurrency);

  /**
   * Takes a document that is still PENDING as of `pendingSince`: INDEXING, its old chunks gone
   * (a re-index), in one statement. Undefined when it is no longer so (deleted, or taken).
   */
  async function claim(documentId: string, pendingSince: Date) {
    const [claimed] = await sql.query<Claimed>(Prisma.sql`
      WITH claimed AS (
        UPDATE "documents" SET "status" = 'INDEXING', "chunk_count" = 0, "error" = NULL, "updated_at" = now()
         WHERE "id" = ${documentId}::uuid AND "status" = 'PENDING' AND "updated_at" = ${pendingSince}
        RETURNING "id", "user_id", "mime_type", "content", "updated_at"),
      dropped AS (DELETE FROM "chunks" WHERE "document_id" IN (SELECT "id" FROM claimed))
      SELECT "user_id" AS "userId", "mime_type" AS "mimeType", "content", "updated_at" AS "updatedAt" FROM claimed`);
    return claimed;
  }

  /** Writes one batch of chunks and the progress count, if the job still owns the document; its new mark. */
  async function writeBatch(
    documentId: string,
    userId: string,
    owned: Date,
    batch: Chunk[],
    signal: AbortSignal,
  ): Promise<Date> {
    const vectors = await embedder.embed(
      batch.map((c) => c.content),
      { signal },
    );
    const rows = batch.map(
      (chunk, i) => Prisma.sql`(${randomUUID()}::uuid, ${documentId}::uuid, ${userId}::uuid,
        ${chunk.ordinal}::int, ${chunk.content}::text, ${chunk.tokenCount}::int,
        ${vectorBinaryParam(vectors[i] as number[])}::vector, ${embedder.model}::text, ${(vectors[i] as number[]).length}::int)`,
    );
    // The rows and the progress count in one statement (atomic without a transaction).
    const [owner] = await sql.query<{ updatedAt: Date }>(Prisma.sql`
      WITH owner AS (
        UPDATE "documents" SET "chunk_count" = "chunk_count" + ${batch.length}::int, "updated_at" = now()
         WHERE "id" = ${documentId}::uuid AND "status" = 'INDEXING' AND "updated_at" = ${owned}
        RETURNING "updated_at"),
      inserted AS (
        INSERT INTO "chunks" ("id", "document_id", "user_id", "ordinal", "content", "token_count",
                              "embedding", "embedding_model", "embedding_dims")
        SELECT * FROM (VALUES ${Prisma.join(rows)}) AS v WHERE EXISTS (SELECT 1 FROM owner))
      SELECT "updated_at" AS "updatedAt" FROM owner`);
    if (!owner) throw new TakenOver();
    onChunksWritten?.(batch.length);
    return owner.updatedAt;
  }

  /** Indexes a claimed document, moving `mark` on with every write. */
  async function index(documentId: string, document: Claimed, mark: { at: Date }, signal: AbortSignal) {
    // Stored types beyond the chunker's (application/pdf) hold extracted plain text.
    const mimeType: ChunkMimeType =
      document.mimeType === 'text/markdown' || document.mimeType === 'text/html' ? document.mimeType : 'text/plain';
    const chunks = await chunkDocumentWith(document.content, mimeType, signal);
    for (let start = 0; start < chunks.length; start += batchSize) {
      signal.throwIfAborted();
      const batch = chunks.slice(start, start + batchSize);
      mark.at = await writeBatch(documentId, document.userId, mark.at, batch, signal);
    }
    const { count } = await db.document.updateMany({
      where: { id: documentId, status: 'INDEXING', updatedAt: mark.at },
      data: { status: 'READY' },
    });
    if (count === 0) throw new TakenOver();
  }

  /** Marks the document FAILED and drops its chunks, if the job still owns it. */
  async function recordFailure(documentId: string, owned: Date, error: unknown) {
    await sql.query(Prisma.sql`
      WITH failed AS (
        UPDATE "documents" SET "status" = 'FAILED', "chunk_count" = 0,
               "error" = ${(error as Error).message.slice(0, 500)}, "updated_at" = now()
         WHERE "id" = ${documentId}::uuid AND "status" = 'INDEXING' AND "updated_at" = ${owned}
        RETURNING "id")
      DELETE FROM "chunks" WHERE "document_id" IN (SELECT "id" FROM failed)`);
  }

  const run = (documentId: string, pendingSince: Date, signal: AbortSignal) =>
    limit(() => runNow(documentId, pendingSince, signal));

  async function runNow(documentId: string, pendingSince: Date, signal: AbortSignal) {
    let mark: { at: Date } | undefined;
    try {
      signal.throwIfAborted();
      const claimed = await claim(documentId, pendingSince);
      if (!claimed) return;
      mark = { at: claimed.updatedAt };
      await index(documentId, claimed, mark, signal);
    } catch (error) {
      if (signal.aborted) {
        // Deleted, superseded by a newer job, or shutting down: whoever aborted owns what happens next.
        logger.info('indexing cancelled', { documentId });
        return;
      }
      if (error instanceof TakenOver) {
        logger.info('indexing stopped: the document was deleted or taken over by another instance', { documentId });
        return;
      }
      logger.warn('indexing failed', { documentId, error });
      // Before the claim there is nothing to record: the document stays PENDING for `resume`.
      if (mark === undefined) return;
      await recordFailure(documentId, mark.at, error).catch((cleanup) =>
        logger.error('could not record an indexing failure', { documentId, error: cleanup }),
      );
    }
  }

  const start = (documentId: string, pendingSince: Date) => {
    controllers.get(documentId)?.abort();
    const controller = new AbortController();
    controllers.set(documentId, controller);
    const job = run(documentId, pendingSince, controller.signal).finally(() => {
      jobs.delete(job);
      if (controllers.get(documentId) === controller) controllers.delete(documentId);
    });
    jobs.add(job);
  };

  return {
    start,
    cancel(documentId) {
      controllers.get(documentId)?.abort();
    },
    depth: () => ({ queued: limit.pendingCount, indexing: limit.activeCount }),
    async idle() {
      await Promise.all([...jobs]);
    },
    async stop() {
      for (const controller of controllers.values()) controller.abort();
      await Promise.all([...jobs]);
    },
    async resume(staleMs) {
      const stale = await db.document.findMany({
        where: { status: { in: ['PENDING', 'INDEXING'] }, updatedAt: { lte: new Date(Date.now() - staleMs) } },
        select: { id: true, updatedAt: true },
      });
      let claimed = 0;
      for (const doc of stale) {
        // Claim it: only the instance whose update matches the last-seen timestamp restarts it,
        // and the job that went silent finds its mark moved and stops.
        const pendingSince = new Date();
        const { count } = await db.document.updateMany({
          where: { id: doc.id, updatedAt: doc.updatedAt },
          data: { status: 'PENDING', updatedAt: pendingSince },
        });
        if (count === 0) continue;
        start(doc.id, pendingSince);
        claimed++;
      }
      return claimed;
    },
  };
}
