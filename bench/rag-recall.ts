import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import { type SearchScope, vectorSearchQuery } from '../src/rag/search.js';
import type { HitRow } from '../src/rag/search-hits.js';
import { HNSW_INDEX } from './rag-db.js';
import { type HnswSession, K, sqlVectorSearch, type VectorRow, vectorPlan, vectorRowOf } from './rag-paths.js';
import { type LatencySummary, summarise } from './stats.js';

export interface RecallRow {
  /** Which held-out query set. */
  queryKind: string;
  efSearch: number;
  iterativeScan: string;
  /** The HNSW settings the server's sessions have. */
  product: boolean;
  /** `planner`: the plan Postgres picks for the product's statements; `index forced`: scan-and-sort plans disabled. */
  plan: 'planner' | 'index forced';
  usesIndex: boolean;
  queries: number;
  /** Mean share of the exact top 10 (by chunk id) that the search returned. */
  recallAt10: number;
  /** The same, counting a returned chunk as found when its distance ties the exact 10th. */
  recallAt10WithTies: number;
  worstQuery: number;
  /** Mean cosine similarity of the exact top 10 minus that of the returned 10: how near the misses are. */
  similarityShortfall: number;
  latencyMs: LatencySummary;
}

export interface QuerySet {
  kind: string;
  texts: string[];
}

export interface ExactSearch {
  queryKind: string;
  queries: number;
  /** The exact search (the same statement, index scans off): what the index saves. */
  latencyMs: LatencySummary;
  /** Mean cosine similarity of the exact 1st, 10th and 11th neighbour: how close the ranks are. */
  similarityAtRank: { 1: number; 10: number; 11: number };
  /** The smallest measured ef_search at which the HNSW index reaches the target, if any. */
  efSearchForTarget: number | undefined;
  /** Whether Postgres itself plans on the index at that ef_search, or only with scan-and-sort plans disabled. */
  efSearchForTargetPlan: RecallRow['plan'] | undefined;
}

export interface RecallResult {
  target: number;
  exact: ExactSearch[];
  rows: RecallRow[];
}

type Hit = VectorRow;

/** When the planner sorts every row instead, this many queries show its latency (its recall is exact anyway). */
const SCAN_PLAN_QUERIES = 5;

/** The exact top k: the same statement with index scans off, so Postgres computes every distance and sorts. */
async function exactSearch(pool: pg.Pool, scope: SearchScope, vector: number[]): Promise<Hit[]> {
  const query = vectorSearchQuery(scope, vector, K + 1);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_indexscan = off');
    const plan = await client.query(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
    if (JSON.stringify(plan.rows).includes(HNSW_INDEX)) throw new Error('the exact search still uses the HNSW index');
    const { rows } = await client.query<HitRow>(query.text, query.values);
    await client.query('COMMIT');
    return rows.map(vectorRowOf);
  } finally {
    client.release();
  }
}

interface Setting {
  hnsw: HnswSession;
  product: boolean;
  forceIndex: boolean;
}

async function measureSetting(
  pool: pg.Pool,
  scope: SearchScope,
  vectors: number[][],
  exact: Hit[][],
  { hnsw, product, forceIndex }: Setting,
  queryKind: string,
): Promise<RecallRow> {
  const { usesIndex } = await vectorPlan(pool, scope, vectors[0] as number[], hnsw, { forceIndex });
  const measured = usesIndex ? vectors : vectors.slice(0, SCAN_PLAN_QUERIES);
  const similarity = (hits: Hit[]) =>
    hits.reduce((sum, h) => sum + 1 - Number(h.distance), 0) / Math.max(1, hits.length);
  let shortfall = 0;
  let found = 0;
  let foundWithTies = 0;
  let worst = 1;
  const ms: number[] = [];
  for (const [i, vector] of measured.entries()) {
    const t0 = performance.now();
    const approx = await sqlVectorSearch(pool, scope, vector, hnsw, { forceIndex });
    ms.push(performance.now() - t0);
    const truth = (exact[i] as Hit[]).slice(0, K);
    shortfall += similarity(truth) - similarity(approx);
    const ids = new Set(truth.map((h) => h.chunk_id));
    const tenth = truth.at(-1)?.distance ?? Number.POSITIVE_INFINITY;
    const hits = approx.filter((h) => ids.has(h.chunk_id)).length / truth.length;
    found += hits;
    foundWithTies += Math.min(truth.length, approx.filter((h) => h.distance <= tenth + 1e-9).length) / truth.length;
    worst = Math.min(worst, hits);
  }
  return {
    queryKind,
    efSearch: Number(hnsw.efSearch),
    iterativeScan: hnsw.iterativeScan,
    product,
    plan: forceIndex ? 'index forced' : 'planner',
    usesIndex,
    queries: measured.length,
    recallAt10: found / measured.length,
    recallAt10WithTies: foundWithTies / measured.length,
    worstQuery: worst,
    similarityShortfall: shortfall / measured.length,
    latencyMs: summarise(ms),
  };
}

/**
 * recall@10 of VECTOR search against exact search over each set of held-out queries, at the
 * product's ef_search and at each of `efSweep` (same iterative scan mode). Each setting runs
 * under the plan Postgres picks; where that plan is not the HNSW index, again with the index
 * forced, so that the index's own recall at that ef_search is measured too.
 */
export async function measureRecall(
  pool: pg.Pool,
  embedder: Embedder,
  scope: SearchScope,
  sets: QuerySet[],
  product: HnswSession,
  efSweep: number[],
  target: number,
): Promise<RecallResult> {
  const result: RecallResult = { target, exact: [], rows: [] };
  const productEf = Number(product.efSearch);
  for (const set of sets) {
    const vectors = await embedder.embed(set.texts);
    const exact: Hit[][] = [];
    const exactMs: number[] = [];
    for (const vector of vectors) {
      const t0 = performance.now();
      exact.push(await exactSearch(pool, scope, vector));
      exactMs.push(performance.now() - t0);
    }
    const rows: RecallRow[] = [];
    for (const ef of [...new Set([...efSweep, productEf])].sort((a, b) => a - b)) {
      const setting = { hnsw: { ...product, efSearch: String(ef) }, product: ef === productEf, forceIndex: false };
      const row = await measureSetting(pool, scope, vectors, exact, setting, set.kind);
      rows.push(row);
      if (!row.usesIndex) {
        rows.push(await measureSetting(pool, scope, vectors, exact, { ...setting, forceIndex: true }, set.kind));
      }
    }
    const meanSimilarity = (rank: number) =>
      exact.reduce((sum, hits) => sum + 1 - Number(hits[rank - 1]?.distance ?? 1), 0) / exact.length;
    const reaching = rows.find((r) => r.usesIndex && r.recallAt10 >= target);
    result.exact.push({
      queryKind: set.kind,
      queries: set.texts.length,
      latencyMs: summarise(exactMs),
      similarityAtRank: { 1: meanSimilarity(1), 10: meanSimilarity(10), 11: meanSimilarity(11) },
      efSearchForTarget: reaching?.efSearch,
      efSearchForTargetPlan: reaching?.plan,
    });
    result.rows.push(...rows);
  }
  return result;
}
