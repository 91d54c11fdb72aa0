// RAG search on Postgres + pgvector: VECTOR latency through GraphQL against the same SQL run
// directly, KEYWORD and HYBRID latency, recall@10 against exact search, and ingestion throughput.
// Standalone: `npx tsx bench/rag-search.ts [--chunks 100000] [--ingest 20000] [--requests 1000]`
// prints the tables and writes bench/results/rag-search.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { DEFAULT_USER_ID } from '../src/db/default-user.js';
import { startupOptions } from '../src/db/session-settings.js';
import { HNSW_SESSION_SETTINGS } from '../src/embeddings/hnsw-settings.js';
import { createLocalEmbedder } from '../src/embeddings/index.js';
import { createLogger } from '../src/logger.js';
import { createServer, type Server } from '../src/server.js';
import { graphqlPoster } from './graphql-post.js';
import { startSwitchyard } from './peers/gateways.js';
import { heldOutPassages, syntheticQueries, TOPICS, vocabulary } from './rag-corpus.js';
import { type CpuSplit, cpuSplitMeter } from './rag-cpu.js';
import { createRagScratch, postgresSettings } from './rag-db.js';
import { type IngestResult, measureIngest } from './rag-ingest.js';
import { type InsertRun, measureInsertCost } from './rag-insert-cost.js';
import { measureLatency, type RagLatencyRow } from './rag-latency.js';
import { type HnswSession, K, searchPaths, sessionHnswSettings, type VectorPlan, vectorPlan } from './rag-paths.js';
import { type PreparedCorpus, prepareCorpus } from './rag-prepare.js';
import { measureRecall, type RecallResult } from './rag-recall.js';
import { type RagTarget, ragSearchTable, ragTargets } from './rag-report.js';

export interface RagSearchOptions {
  /** Chunks in the searched corpus. */
  chunks: number;
  /** Held-out queries per set (short queries, held-out passages) for latency and recall. */
  queries: number;
  /** [concurrency, requests per path] per level. */
  levels: [concurrency: number, requests: number][];
  /** Time bound per path and level: a slow path gets fewer samples. */
  latencyBudgetMs: number;
  /** ef_search values whose recall is measured beside the product's. */
  efSweep: number[];
  /** Chunks ingested through GraphQL for the throughput measurement. */
  ingestChunks: number;
  ingestTimeoutMs: number;
  /** Chunks per run of the insert-cost diagnostic (with and without the HNSW index); 0 skips it. */
  insertCostChunks: number;
  seed: number;
  /** Session setting for the index rebuild only; undefined keeps the server's. */
  maintenanceWorkMem: string | undefined;
  log: (line: string) => void;
}

export const DEFAULT_RAG_OPTIONS: RagSearchOptions = {
  chunks: 100_000,
  queries: 100,
  levels: [
    [1, 1_000],
    [8, 2_000],
  ],
  latencyBudgetMs: 10_000,
  efSweep: [40, 200, 400, 1000],
  ingestChunks: 20_000,
  ingestTimeoutMs: 240_000,
  insertCostChunks: 5_000,
  seed: 42,
  maintenanceWorkMem: undefined,
  log: (line) => process.stderr.write(`  ${line}\n`),
};

/** The depth HYBRID asks each mode for at k = 10: `Math.max(k * 4, 20)` in the document service. */
const HYBRID_DEPTH = Math.max(K * 4, 20);

export interface RagSearchResult extends PreparedCorpus {
  settings: Omit<RagSearchOptions, 'log'>;
  corpus: { chunks: number; documents: number; topics: number; model: string; seed: number };
  postgres: Record<string, string>;
  hnsw: HnswSession;
  /** How Postgres plans the product's VECTOR statement at k = 10 and at HYBRID's depth. */
  plans: ({ k: number; efSearch: number } & VectorPlan)[];
  rows: RagLatencyRow[];
  recall: RecallResult;
  /** Cores busy while latency and recall were measured; `other` is contention from the rest of the machine. */
  cpu: { latency: CpuSplit; recall: CpuSplit };
  ingest: IngestResult;
  insertCost: InsertRun[];
  targets: RagTarget[];
}

/** Runs the whole benchmark on a scratch database that is dropped at the end, also on failure. */
export async function benchRagSearch(overrides: Partial<RagSearchOptions> = {}): Promise<RagSearchResult> {
  const options = { ...DEFAULT_RAG_OPTIONS, ...overrides };
  const { log, seed } = options;
  const scratch = await createRagScratch();
  log(`scratch database ${scratch.name}`);
  let server: Server | undefined;
  // The server's session settings, so that the plain-SQL path runs the same statement alone.
  const pool = new pg.Pool({ connectionString: scratch.url, max: 10, options: startupOptions(HNSW_SESSION_SETTINGS) });
  try {
    const config = loadConfig({ PORT: '0', DATABASE_URL: scratch.url, DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
    server = await createServer(config, createLogger('silent'));
    await server.ready;
    const embedder = createLocalEmbedder();
    if (embedder.model !== server.app.services.documents.embeddingModel) throw new Error('embedder mismatch');
    const vocab = vocabulary(seed);
    const scope = { userId: DEFAULT_USER_ID, collection: null, model: embedder.model };
    const prepared = await prepareCorpus({ ...options, pool, embedder, vocab, userId: DEFAULT_USER_ID });

    const db = server.app.database.prisma;
    const hnsw = await sessionHnswSettings((sql) => db.$queryRawUnsafe(sql));
    const poolHnsw = await sessionHnswSettings(async (sql) => (await pool.query<HnswSession>(sql)).rows);
    if (JSON.stringify(poolHnsw) !== JSON.stringify(hnsw)) throw new Error('the bench pool has other HNSW settings');
    const queries = syntheticQueries(vocab, seed, options.queries, prepared.load.documents);
    const [probe] = await embedder.embed([queries[0] ?? 'query']);
    const plans = [];
    for (const k of [K, HYBRID_DEPTH]) {
      plans.push({
        k,
        efSearch: Number(hnsw.efSearch),
        ...(await vectorPlan(pool, scope, probe as number[], hnsw, { k })),
      });
    }
    log('measuring latency');
    // GraphQL is served the way users run it, by its own process (`npm start`), not from this
    // one's heap with the corpus and the load generator in it.
    const gateway = await startSwitchyard(scratch.url);
    const http = graphqlPoster(gateway.url);
    const paths = searchPaths({ server, pool, embedder, scope, http });
    const stopLatencyCpu = await cpuSplitMeter(pool);
    const rows = await measureLatency(paths, queries, options.levels, options.latencyBudgetMs).finally(async () => {
      http.close();
      await gateway.child.stop();
    });
    const latencyCpu = await stopLatencyCpu();
    log('measuring recall');
    const sets = [
      { kind: 'short query', texts: queries },
      { kind: 'held-out chunk', texts: heldOutPassages(vocab, seed, options.queries, prepared.load.documents + 1_000) },
    ];
    const stopRecallCpu = await cpuSplitMeter(pool);
    const recall = await measureRecall(pool, embedder, scope, sets, hnsw, options.efSweep, 0.95);
    const recallCpu = await stopRecallCpu();
    log(`ingesting ${options.ingestChunks} chunks through GraphQL`);
    const ingest = await measureIngest({
      server,
      pool,
      embedder,
      vocab,
      seed: seed + 1,
      chunks: options.ingestChunks,
      timeoutMs: options.ingestTimeoutMs,
    });
    const postgres = await postgresSettings(pool);
    log('insert cost with and without the HNSW index');
    const insertCost =
      options.insertCostChunks > 0
        ? await measureInsertCost(pool, embedder, vocab, seed + 2, DEFAULT_USER_ID, options.insertCostChunks)
        : [];
    const { log: _log, ...settings } = options;
    const { chunks, documents } = prepared.load;
    const result: RagSearchResult = {
      settings,
      corpus: { chunks, documents, topics: TOPICS, model: embedder.model, seed },
      postgres,
      ...prepared,
      hnsw,
      plans,
      rows,
      recall,
      cpu: { latency: latencyCpu, recall: recallCpu },
      ingest,
      insertCost,
      targets: [],
    };
    return { ...result, targets: ragTargets(result) };
  } finally {
    await pool.end().catch(() => {});
    await server?.close().catch(() => {});
    await scratch.drop();
    log(`dropped ${scratch.name}`);
  }
}

export function printRagSearch(result: RagSearchResult): void {
  for (const line of ragSearchTable(result)) console.log(line);
}

const machine = () => ({
  node: process.version,
  arch: arch(),
  os: release(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
  loadAverage: loadavg(),
});

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { chunks: { type: 'string' }, ingest: { type: 'string' }, requests: { type: 'string' } },
  });
  const requests = Number(values.requests ?? 1_000);
  const started = { date: new Date().toISOString(), machine: machine() };
  const t0 = performance.now();
  const result = await benchRagSearch({
    chunks: Number(values.chunks ?? DEFAULT_RAG_OPTIONS.chunks),
    ingestChunks: Number(values.ingest ?? DEFAULT_RAG_OPTIONS.ingestChunks),
    levels: [
      [1, requests],
      [8, requests * 2],
    ],
  });
  printRagSearch(result);
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const runSeconds = (performance.now() - t0) / 1000;
  const body = { ...started, loadAverageAtEnd: loadavg(), runSeconds, ...result };
  writeFileSync(join(dir, 'rag-search.json'), `${JSON.stringify(body, null, 2)}\n`);
  console.log(`\nwrote ${join(dir, 'rag-search.json')} (run took ${runSeconds.toFixed(0)} s)`);
}
