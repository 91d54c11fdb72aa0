import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { createTokenCounter } from '../util/count-tokens.js';
import { type ChunkMimeType, chunkDocument } from './chunking/index.js';
import type { Embedder } from './embedders/index.js';
import { vectorBinaryParam } from './vector-sql.js';

export interface Indexer {
  /** Indexes a PENDING document in the background: PENDING -> INDEXING -> READY or FAILED. */
  start(documentId: string): void;
  /** Drops a document's chunks and indexes it again with the active embedder. */
  reindex(documentId: string): Promise<void>;
  /** Waits for every indexing job under way (shutdown, tests). */
  idle(): Promise<void>;
  /**
   * Restarts indexing cut off by a crash: documents still PENDING or INDEXING and untouched for
   * `staleMs` (0 takes all: an embedded database has no other instance that could be working).
   */
  resume(staleMs: number): Promise<number>;
}

export interface IndexerDeps {
  db: Db;
  /** Writes the chunk batches (the bulk of indexing's statements), without Prisma's per-parameter work. */
  sql: SqlRunner;
  embedder: Embedder;
  logger: Logger;
  /** Chunks embedded and written per batch (one INSERT); chunkCount grows by this as indexing progresses. */
  batchSize?: number;
  /**
   * Documents indexed at once; more wait their turn in arrival order. Each HNSW insert is CPU in
   * the database, so a burst of documents indexed side by side only contends for the same cores
   * and the graph's pages, and every document takes longer to become READY.
   */
  concurrency?: number;
}

/**
 * Chunks a document, embeds the chunks in batches and writes them with their vectors; the
 * `tsvector` column fills itself. Progress shows as a growing `chunkCount`; a failure removes
 * the chunks written so far and records the reason, so nothing half-indexed is ever searched.
 */
export function createIndexer({ db, sql, embedder, logger, batchSize = 256, concurrency = 2 }: IndexerDeps): Indexer {
  const jobs = new Set<Promise<void>>();
  // one for every document: words that recur across documents are tokenized once
  const tokenCounter = createTokenCounter();
  const queue: (() => void)[] = [];
  let running = 0;
  const slot = async () => {
    if (running >= concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
  };
  // A finishing job hands its slot straight to the next in line, so `running` never dips.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };

  async function index(documentId: string) {
    const document = await db.document.update({
      where: { id: documentId },
      data: { status: 'INDEXING', chunkCount: 0, error: null },
    });
    // Stored types beyond the chunker's (application/pdf) hold extracted plain text.
    const mimeType: ChunkMimeType =
      document.mimeType === 'text/markdown' || document.mimeType === 'text/html' ? document.mimeType : 'text/plain';
    const chunks = chunkDocument(document.content, { mimeType, tokenCounter });
    for (let start = 0; start < chunks.length; start += batchSize) {
      const batch = chunks.slice(start, start + batchSize);
      const vectors = await embedder.embed(batch.map((c) => c.content));
      const rows = batch.map(
        (chunk, i) => Prisma.sql`(${randomUUID()}::uuid, ${documentId}::uuid, ${document.userId}::uuid,
          ${chunk.ordinal}, ${chunk.content}, ${chunk.tokenCount},
          ${vectorBinaryParam(vectors[i] as number[])}::vector, ${embedder.model}, ${(vectors[i] as number[]).length})`,
      );
      // The rows and the progress count in one statement (atomic without a transaction).
      await sql.query(Prisma.sql`
        WITH inserted AS (
          INSERT INTO "chunks" ("id", "document_id", "user_id", "ordinal", "content", "token_count",
                                "embedding", "embedding_model", "embedding_dims")
          VALUES ${Prisma.join(rows)} RETURNING 1)
        UPDATE "documents" SET "chunk_count" = "chunk_count" + (SELECT count(*) FROM inserted)::int,
                               "updated_at" = now()
         WHERE "id" = ${documentId}::uuid`);
    }
    await db.document.update({ where: { id: documentId }, data: { status: 'READY' } });
  }

  async function run(documentId: string) {
    await slot();
    try {
      await index(documentId);
    } catch (error) {
      logger.warn('indexing failed', { documentId, error });
      await db
        .$transaction([
          db.chunk.deleteMany({ where: { documentId } }),
          db.document.updateMany({
            where: { id: documentId },
            data: { status: 'FAILED', chunkCount: 0, error: (error as Error).message.slice(0, 500) },
          }),
        ])
        .catch((cleanup) => logger.error('could not record an indexing failure', { documentId, error: cleanup }));
    } finally {
      release();
    }
  }

  const start = (documentId: string) => {
    const job = run(documentId).finally(() => jobs.delete(job));
    jobs.add(job);
  };
  const reindex = async (documentId: string) => {
    await db.chunk.deleteMany({ where: { documentId } });
    start(documentId);
  };

  return {
    start,
    reindex,
    async idle() {
      await Promise.all([...jobs]);
    },
    async resume(staleMs) {
      const stale = await db.document.findMany({
        where: { status: { in: ['PENDING', 'INDEXING'] }, updatedAt: { lte: new Date(Date.now() - staleMs) } },
        select: { id: true, updatedAt: true },
      });
      let claimed = 0;
      for (const doc of stale) {
        // Claim it: only the instance whose update matches the last-seen timestamp restarts it.
        const { count } = await db.document.updateMany({
          where: { id: doc.id, updatedAt: doc.updatedAt },
          data: { status: 'PENDING', updatedAt: new Date() },
        });
        if (count === 0) continue;
        await reindex(doc.id);
        claimed++;
      }
      return claimed;
    },
  };
}
