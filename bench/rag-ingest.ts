import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import { chunkDocument } from '../src/rag/chunking/index.js';
import type { Server } from '../src/server.js';
import { type SyntheticDocument, syntheticDocument, type Vocabulary } from './rag-corpus.js';
import { type CpuSplit, cpuSplitMeter } from './rag-cpu.js';
import { type LatencySummary, measure, summarise } from './stats.js';

const INGEST = `mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id status } }`;

export interface IngestResult {
  collection: string;
  documents: number;
  chunks: number;
  /** Chunks in the index before this batch (the HNSW graph the inserts join). */
  chunksAlready: number;
  /** From the first ingestDocument request until every response came back (documents PENDING). */
  acceptedMs: number;
  /** From the first ingestDocument request until the last document is READY. */
  readyMs: number;
  chunksPerSecond: number;
  failed: number;
  timedOut: boolean;
  /** Per document, created -> READY (the documents index side by side). */
  documentReadyMs: LatencySummary;
  /** Cores busy during the window: this process (server and client), the database's backends, other processes. */
  cpu: CpuSplit;
  /** CPU per chunk indexed: this process (GraphQL, chunking, embedding, Prisma) and Postgres. */
  cpuMsPerChunk: { node: number; postgres: number };
  /** Chunking then embedding the same documents on one thread, without the database: the ceiling in-process. */
  chunkEmbedOnlyPerSecond: number;
}

export interface IngestOptions {
  server: Server;
  pool: pg.Pool;
  embedder: Embedder;
  vocab: Vocabulary;
  seed: number;
  chunks: number;
  timeoutMs: number;
}

/** Documents of the ingest batch until they chunk to at least `chunks`, and the time chunking and embedding took. */
async function batch(options: IngestOptions): Promise<{ docs: SyntheticDocument[]; chunks: number; ms: number }> {
  const docs: SyntheticDocument[] = [];
  let chunks = 0;
  let ms = 0;
  while (chunks < options.chunks) {
    const doc = syntheticDocument(options.vocab, options.seed, docs.length);
    const t0 = performance.now();
    const pieces = chunkDocument(doc.content, { mimeType: 'text/markdown' });
    await options.embedder.embed(pieces.map((c) => c.content));
    ms += performance.now() - t0;
    chunks += pieces.length;
    docs.push(doc);
  }
  return { docs, chunks, ms };
}

/**
 * Ingestion throughput through the real path: `ingestDocument` over GraphQL for a batch of
 * documents, then the server's indexer (chunk, embed, insert, HNSW) until every one is READY.
 */
export async function measureIngest(options: IngestOptions): Promise<IngestResult> {
  const { server, pool } = options;
  const collection = `ingest-${options.seed}`;
  const { docs, chunks: expected, ms: offlineMs } = await batch(options);
  const before = await pool.query<{ n: string }>('SELECT count(*) AS n FROM "chunks"');
  const status = async () => {
    const { rows } = await pool.query<{ done: string; failed: string; chunks: string | null }>(
      `SELECT count(*) FILTER (WHERE "status" IN ('READY', 'FAILED')) AS done,
              count(*) FILTER (WHERE "status" = 'FAILED') AS failed, sum("chunk_count") AS chunks
         FROM "documents" WHERE "collection" = $1`,
      [collection],
    );
    const row = rows[0];
    return { done: Number(row?.done), failed: Number(row?.failed), chunks: Number(row?.chunks ?? 0) };
  };

  const stopCpu = await cpuSplitMeter(pool);
  const t0 = performance.now();
  let next = 0;
  await measure(docs.length, 4, async () => {
    const doc = docs[next++] as SyntheticDocument;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: INGEST,
        variables: { input: { title: doc.title, content: doc.content, mimeType: 'text/markdown', collection } },
      }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  });
  const acceptedMs = performance.now() - t0;
  let state = await status();
  let timedOut = false;
  while (state.done < docs.length) {
    if (performance.now() - t0 > options.timeoutMs) {
      timedOut = true;
      break;
    }
    await sleep(25);
    state = await status();
  }
  const readyMs = performance.now() - t0;
  const cpu = await stopCpu();
  const perDoc = await pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM "updated_at" - "created_at") * 1000 AS ms FROM "documents"
      WHERE "collection" = $1 AND "status" = 'READY'`,
    [collection],
  );
  return {
    collection,
    documents: docs.length,
    chunks: state.chunks,
    chunksAlready: Number(before.rows[0]?.n),
    acceptedMs,
    readyMs,
    chunksPerSecond: (state.chunks / readyMs) * 1000,
    failed: state.failed,
    timedOut,
    documentReadyMs: summarise(perDoc.rows.map((r) => Number(r.ms))),
    cpu,
    cpuMsPerChunk: { node: cpu.nodeMs / state.chunks, postgres: cpu.postgresMs / state.chunks },
    chunkEmbedOnlyPerSecond: (expected / offlineMs) * 1000,
  };
}
