import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import { vectorParam } from '../src/embeddings/vector-sql.js';
import { type Chunk, chunkDocument } from '../src/rag/chunking/index.js';
import { syntheticDocument, type Vocabulary } from './rag-corpus.js';

/** Rows per INSERT: 9 parameters each stays well under Postgres' 65,535. */
const ROWS_PER_INSERT = 500;
/** INSERTs in flight while the next document is chunked and embedded. */
const IN_FLIGHT = 2;

export interface BulkLoad {
  documents: number;
  chunks: number;
  /** Generating, chunking and embedding in this process (summed, overlapped with the inserts). */
  prepareMs: number;
  totalMs: number;
  avgTokensPerChunk: number;
}

export interface BulkLoadOptions {
  db: pg.Pool;
  embedder: Embedder;
  vocab: Vocabulary;
  seed: number;
  userId: string;
  chunks: number;
  collection: string;
  onProgress?: (chunks: number) => void;
}

export interface PreparedDocument {
  title: string;
  content: string;
  chunks: Chunk[];
  vectors: number[][];
}

/**
 * Inserts a READY document, then its chunks with the indexer's column list and value shape,
 * `ROWS_PER_INSERT` rows per statement, each handed to `submit` (which may keep several in flight).
 */
export async function insertDocument(
  db: pg.Pool,
  target: { userId: string; collection: string; model: string },
  doc: PreparedDocument,
  submit: (insert: Promise<unknown>) => Promise<void>,
): Promise<void> {
  const { userId, collection, model } = target;
  const id = randomUUID();
  const hash = createHash('sha256').update(doc.content).digest('hex');
  await db.query(
    `INSERT INTO "documents" ("id", "user_id", "title", "collection", "mime_type", "status", "chunk_count",
       "content_hash", "content", "updated_at")
     VALUES ($1, $2, $3, $4, 'text/markdown', 'READY', $5, $6, $7, now())`,
    [id, userId, doc.title, collection, doc.chunks.length, hash, doc.content],
  );
  for (let start = 0; start < doc.chunks.length; start += ROWS_PER_INSERT) {
    const values: unknown[] = [];
    const rows = doc.chunks.slice(start, start + ROWS_PER_INSERT).map((chunk, i) => {
      const vector = doc.vectors[start + i] as number[];
      const p = values.length;
      values.push(randomUUID(), id, userId, chunk.ordinal, chunk.content, chunk.tokenCount);
      values.push(vectorParam(vector), model, vector.length);
      return `($${p + 1}::uuid, $${p + 2}::uuid, $${p + 3}::uuid, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}::vector, $${p + 8}, $${p + 9})`;
    });
    await submit(
      db.query(
        `INSERT INTO "chunks" ("id", "document_id", "user_id", "ordinal", "content", "token_count",
           "embedding", "embedding_model", "embedding_dims") VALUES ${rows.join(', ')}`,
        values,
      ),
    );
  }
}

/**
 * Loads READY documents whose chunks come from the real chunker and the real embedder (see
 * `insertDocument`). The last document is cut so that the corpus holds exactly `chunks` chunks.
 */
export async function bulkLoad(options: BulkLoadOptions): Promise<BulkLoad> {
  const { db, embedder, vocab, seed } = options;
  const target = { userId: options.userId, collection: options.collection, model: embedder.model };
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  const submit = async (task: Promise<unknown>) => {
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  };
  let loaded = 0;
  let documents = 0;
  let tokens = 0;
  let prepareMs = 0;
  while (loaded < options.chunks) {
    const t0 = performance.now();
    const doc = syntheticDocument(vocab, seed, documents);
    const chunks = chunkDocument(doc.content, { mimeType: 'text/markdown' }).slice(0, options.chunks - loaded);
    const vectors = await embedder.embed(chunks.map((c) => c.content));
    prepareMs += performance.now() - t0;
    await insertDocument(db, target, { ...doc, chunks, vectors }, submit);
    for (const chunk of chunks) tokens += chunk.tokenCount;
    loaded += chunks.length;
    documents++;
    options.onProgress?.(loaded);
  }
  await Promise.all(inFlight);
  return {
    documents,
    chunks: loaded,
    prepareMs,
    totalMs: performance.now() - started,
    avgTokensPerChunk: tokens / loaded,
  };
}
