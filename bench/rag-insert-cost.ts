import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import { chunkDocument } from '../src/rag/chunking/index.js';
import { syntheticDocument, type Vocabulary } from './rag-corpus.js';
import { cpuSplitMeter } from './rag-cpu.js';
import { HNSW_INDEX } from './rag-db.js';
import { insertDocument, type PreparedDocument } from './rag-load.js';

export interface InsertRun {
  hnswIndex: boolean;
  chunks: number;
  ms: number;
  chunksPerSecond: number;
  /** CPU per chunk in the database's backends and in this process (sending the statements). */
  postgresCpuMsPerChunk: number;
  nodeCpuMsPerChunk: number;
  /** Cores other processes used meanwhile: contention. */
  otherCores: number;
}

async function prepare(embedder: Embedder, vocab: Vocabulary, seed: number, chunks: number) {
  const docs: PreparedDocument[] = [];
  for (let total = 0, i = 0; total < chunks; i++) {
    const doc = syntheticDocument(vocab, seed, i);
    const pieces = chunkDocument(doc.content, { mimeType: 'text/markdown' }).slice(0, chunks - total);
    docs.push({ ...doc, chunks: pieces, vectors: await embedder.embed(pieces.map((c) => c.content)) });
    total += pieces.length;
  }
  return docs;
}

async function insertAll(db: pg.Pool, model: string, userId: string, docs: PreparedDocument[], hnswIndex: boolean) {
  const chunks = docs.reduce((sum, d) => sum + d.chunks.length, 0);
  const stopCpu = await cpuSplitMeter(db);
  const t0 = performance.now();
  const target = { userId, collection: `insert-cost-${hnswIndex}`, model };
  for (const doc of docs) await insertDocument(db, target, doc, async (insert) => void (await insert));
  const ms = performance.now() - t0;
  const cpu = await stopCpu();
  return {
    hnswIndex,
    chunks,
    ms,
    chunksPerSecond: (chunks / ms) * 1000,
    postgresCpuMsPerChunk: cpu.postgresMs / chunks,
    nodeCpuMsPerChunk: cpu.nodeMs / chunks,
    otherCores: cpu.other,
  };
}

/**
 * Diagnostic for the ingestion number: the same chunk rows inserted on one connection, already
 * embedded, first with the HNSW index in place, then with it dropped, so the difference is what
 * maintaining the index costs per chunk. Run last: it leaves the database without the index.
 */
export async function measureInsertCost(
  db: pg.Pool,
  embedder: Embedder,
  vocab: Vocabulary,
  seed: number,
  userId: string,
  chunks: number,
): Promise<InsertRun[]> {
  const withIndex = await prepare(embedder, vocab, seed, chunks);
  const withoutIndex = await prepare(embedder, vocab, seed + 1, chunks);
  const runs = [await insertAll(db, embedder.model, userId, withIndex, true)];
  await db.query(`DROP INDEX "${HNSW_INDEX}"`);
  runs.push(await insertAll(db, embedder.model, userId, withoutIndex, false));
  return runs;
}
