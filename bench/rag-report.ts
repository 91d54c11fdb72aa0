import type { CpuSplit } from './rag-cpu.js';
import type { RagLatencyRow } from './rag-latency.js';
import type { RagSearchResult } from './rag-search.js';

const num = (n: number | undefined, width = 8, digits = 2) =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);

export interface RagTarget {
  target: string;
  met: boolean;
  value: string;
}

const at = (rows: RagLatencyRow[], path: string) =>
  rows.find((r) => r.mode === 'VECTOR' && r.path === path && r.concurrency === 1);

/** GraphQL over HTTP minus the plain-SQL VECTOR search, at concurrency 1. */
export function graphqlOverhead(rows: RagLatencyRow[]): { p50: number; p99: number } | undefined {
  const sql = at(rows, 'sql pg');
  const graphql = at(rows, 'graphql http');
  if (!sql || !graphql) return undefined;
  return { p50: graphql.latencyMs.p50 - sql.latencyMs.p50, p99: graphql.latencyMs.p99 - sql.latencyMs.p99 };
}

export function ragTargets(result: RagSearchResult): RagTarget[] {
  const { recall, ingest } = result;
  const product = recall.rows.filter((r) => r.product && r.plan === 'planner');
  const overhead = graphqlOverhead(result.rows);
  return [
    {
      target: 'VECTOR recall@10 >= 0.95 (ef_search as the server sessions have it)',
      met: product.length > 0 && product.every((r) => r.recallAt10 >= recall.target),
      value: recall.exact
        .map((e) => {
          const row = product.find((r) => r.queryKind === e.queryKind);
          const reach =
            e.efSearchForTarget === undefined
              ? 'no measured ef_search reaches it'
              : `ef_search ${e.efSearchForTarget} reaches it${e.efSearchForTargetPlan === 'planner' ? '' : ' only with the index forced: Postgres then plans a scan and sort'}`;
          return `${e.queryKind}: ${num(row?.recallAt10, 0, 3)} at ef_search ${row?.efSearch} (${reach})`;
        })
        .join('; '),
    },
    {
      target: 'GraphQL adds <= 2 ms p50 over the same SQL (VECTOR, concurrency 1)',
      met: overhead !== undefined && overhead.p50 <= 2,
      value: `+${num(overhead?.p50, 0)} ms p50, +${num(overhead?.p99, 0)} ms p99`,
    },
    {
      target: 'ingestion >= 1,000 chunks/s (ingestDocument until READY, local embedder)',
      met: ingest.chunksPerSecond >= 1000 && !ingest.timedOut,
      value: `${num(ingest.chunksPerSecond, 0, 0)} chunks/s (${ingest.chunks} chunks in ${num(ingest.readyMs / 1000, 0, 1)} s${ingest.timedOut ? ', TIMED OUT' : ''})`,
    },
  ];
}

const cores = (cpu: CpuSplit) =>
  `cores busy: node ${num(cpu.node, 0)}, Postgres (this database) ${num(cpu.postgres, 0)}, other processes ${num(cpu.other, 0)}`;

function latencyTable(rows: RagLatencyRow[]): string[] {
  const lines = [
    'search latency, k = 10, held-out short queries (ms); +p50 is over the first SQL row of the mode',
    'mode     path           conc      n      p50      p99     mean      qps  hits  +p50 vs sql',
  ];
  for (const row of rows) {
    const base = rows.find((r) => r.mode === row.mode && r.concurrency === row.concurrency && r.path.startsWith('sql'));
    const added = base && base !== row ? row.latencyMs.p50 - base.latencyMs.p50 : undefined;
    lines.push(
      [
        row.mode.padEnd(8),
        row.path.padEnd(13),
        String(row.concurrency).padStart(5),
        String(row.latencyMs.n).padStart(6),
        num(row.latencyMs.p50),
        num(row.latencyMs.p99),
        num(row.latencyMs.mean),
        num(row.qps, 8, 0),
        num(row.hits, 5, 1),
        num(added, 12),
      ].join(' '),
    );
  }
  return lines;
}

function recallTable({ recall }: RagSearchResult): string[] {
  const lines = [`recall@10 against exact search (the same statement with index scans off)`];
  for (const e of recall.exact) {
    const sim = e.similarityAtRank;
    lines.push(
      `  ${e.queryKind}: ${e.queries} queries, exact p50 ${num(e.latencyMs.p50, 0)} ms; mean cosine similarity of neighbour 1 / 10 / 11: ${num(sim[1], 0, 3)} / ${num(sim[10], 0, 3)} / ${num(sim[11], 0, 3)}`,
    );
  }
  lines.push(
    'queries         ef_search  plan          hnsw    n  recall@10  with ties  worst  sim short    p50 ms    p99 ms',
  );
  for (const row of recall.rows) {
    lines.push(
      [
        row.queryKind.padEnd(15),
        `${row.efSearch}${row.product ? '*' : ''}`.padStart(9),
        row.plan.padEnd(12),
        (row.usesIndex ? 'yes' : 'no').padStart(5),
        String(row.queries).padStart(4),
        num(row.recallAt10, 10, 3),
        num(row.recallAt10WithTies, 10, 3),
        num(row.worstQuery, 6, 2),
        num(row.similarityShortfall, 10, 4),
        num(row.latencyMs.p50, 9),
        num(row.latencyMs.p99, 9),
      ].join(' '),
    );
  }
  lines.push(
    `* = the server's session settings (iterative_scan ${recall.rows[0]?.iterativeScan} throughout). Where the planner picks a scan and sort instead of the index, a few queries time that plan (exact, recall 1) and the index is measured again forced. sim short = exact top-10 mean cosine minus the returned.`,
  );
  return lines;
}

function ingestLines({ ingest, insertCost }: RagSearchResult): string[] {
  const lines = [
    `ingestion: ${ingest.documents} documents via ingestDocument (GraphQL) into ${ingest.chunksAlready} indexed chunks -> ${ingest.chunks} chunks READY in ${num(ingest.readyMs / 1000, 0, 1)} s = ${num(ingest.chunksPerSecond, 0, 0)} chunks/s (all accepted after ${num(ingest.acceptedMs / 1000, 0, 1)} s, ${ingest.failed} failed)`,
    `  per document created -> READY p50 ${num(ingest.documentReadyMs.p50 / 1000, 0, 1)} s, p99 ${num(ingest.documentReadyMs.p99 / 1000, 0, 1)} s; ${cores(ingest.cpu)}`,
    `  CPU per chunk: node ${num(ingest.cpuMsPerChunk.node, 0, 3)} ms, Postgres ${num(ingest.cpuMsPerChunk.postgres, 0, 3)} ms; chunk + embed alone on one thread: ${num(ingest.chunkEmbedOnlyPerSecond, 0, 0)} chunks/s`,
  ];
  for (const run of insertCost) {
    lines.push(
      `  insert only (pre-embedded, one connection, 500-row statements), HNSW index ${run.hnswIndex ? 'present' : 'dropped'}: ${run.chunks} chunks at ${num(run.chunksPerSecond, 0, 0)} chunks/s, Postgres ${num(run.postgresCpuMsPerChunk, 0, 3)} ms CPU per chunk (other processes ${num(run.otherCores, 0)} cores)`,
    );
  }
  return lines;
}

/** The tables `printRagSearch` prints. */
export function ragSearchTable(result: RagSearchResult): string[] {
  const { corpus, load, index } = result;
  const plans = result.plans.map(
    (p) => `k = ${p.k}: ${p.usesIndex ? 'HNSW index' : 'scan and sort'} (chunks rows estimated ${p.chunkRowsEstimate})`,
  );
  return [
    `rag search: ${corpus.chunks} chunks in ${corpus.documents} documents (${corpus.topics} topics, ${num(load.avgTokensPerChunk, 0, 0)} tokens/chunk), ${corpus.model}, Postgres ${result.postgres.server_version} + pgvector ${result.postgres.pgvector}`,
    `bulk load ${num(load.totalMs / 1000, 0, 1)} s without the HNSW index; index rebuilt with the migration's statement in ${num(index.ms / 1000, 0, 1)} s (${num(index.sizeMiB, 0, 0)} MiB, maintenance_work_mem ${index.maintenanceWorkMem}, ${index.parallelWorkers} parallel workers${index.notices.length ? `; ${index.notices.join('; ')}` : ''}); same definition as migrated: ${result.indexMatchesMigration}`,
    `HNSW session settings: ef_search ${result.hnsw.efSearch}, iterative_scan ${result.hnsw.iterativeScan}; the VECTOR statement plans as ${plans.join(', ')}`,
    '',
    ...latencyTable(result.rows),
    `  while measuring latency: ${cores(result.cpu.latency)}; recall: ${cores(result.cpu.recall)}`,
    '',
    ...recallTable(result),
    '',
    ...ingestLines(result),
    '',
    ...result.targets.map((t) => `${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`),
  ];
}
