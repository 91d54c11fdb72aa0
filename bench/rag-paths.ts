import type pg from 'pg';
import type { Db } from '../src/db/database.js';
import type { Embedder } from '../src/rag/embedders/index.js';
import { hnswSettings } from '../src/rag/hnsw-settings.js';
import { hydrateHits } from '../src/rag/hydrate-hits.js';
import {
  keywordSearch,
  type ScoredChunk,
  type SearchMode,
  type SearchScope,
  vectorSearchQuery,
} from '../src/rag/search.js';
import type { Server } from '../src/server.js';
import { HNSW_INDEX } from './rag-db.js';

export const K = 10;

const SEARCH = `query ($q: String!, $mode: SearchMode, $k: Int) {
  search(query: $q, mode: $mode, k: $k) {
    score vectorScore keywordScore document { id title } chunk { id ordinal content } } }`;

/** One way to run a search; resolves to the number of hits. */
export interface SearchPath {
  mode: SearchMode;
  path: string;
  run(query: string): Promise<number>;
}

export interface HnswSession {
  efSearch: string;
  iterativeScan: string;
}

/** What `hnswSettings` sets, read back from Postgres inside the same transaction. */
export async function productHnswSettings(db: Db): Promise<HnswSession> {
  const [, , rows] = await db.$transaction([
    ...hnswSettings(db),
    db.$queryRaw<HnswSession[]>`SELECT current_setting('hnsw.ef_search') AS "efSearch",
      current_setting('hnsw.iterative_scan') AS "iterativeScan"`,
  ]);
  const settings = rows[0];
  if (!settings) throw new Error('could not read the HNSW settings back');
  return settings;
}

export interface PathDeps {
  server: Server;
  pool: pg.Pool;
  embedder: Embedder;
  scope: SearchScope;
  hnsw: HnswSession;
}

/** Planner switches that leave the HNSW index as the only way to order by distance. */
const FORCE_INDEX = ['enable_seqscan', 'enable_bitmapscan', 'enable_sort'];

/** Opens a transaction with the given HNSW settings (and, if `forceIndex`, no scan-and-sort plans), runs `body`, commits. */
async function inHnswSession<T>(
  pool: pg.Pool,
  hnsw: HnswSession,
  forceIndex: boolean,
  body: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (!/^[a-z_]+$/.test(hnsw.iterativeScan)) throw new Error(`unexpected iterative_scan ${hnsw.iterativeScan}`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL hnsw.ef_search = ${Number(hnsw.efSearch)}`);
    await client.query(`SET LOCAL hnsw.iterative_scan = ${hnsw.iterativeScan}`);
    if (forceIndex) for (const name of FORCE_INDEX) await client.query(`SET LOCAL ${name} = off`);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface VectorSqlOptions {
  k?: number;
  /** Disable scan-and-sort plans, to measure the index itself where the planner would not use it. */
  forceIndex?: boolean;
}

/** `vectorSearchQuery` on a plain node-postgres connection, in a transaction with the given HNSW settings. */
export function sqlVectorSearch(
  pool: pg.Pool,
  scope: SearchScope,
  vector: number[],
  hnsw: HnswSession,
  { k = K, forceIndex = false }: VectorSqlOptions = {},
): Promise<{ chunk_id: string; document_id: string; distance: number }[]> {
  const query = vectorSearchQuery(scope, vector, k);
  return inHnswSession(pool, hnsw, forceIndex, async (client) => (await client.query(query.text, query.values)).rows);
}

export interface VectorPlan {
  usesIndex: boolean;
  /** The planner's estimate of the chunks rows that pass the filters (all of them do here). */
  chunkRowsEstimate: number | undefined;
}

interface PlanNode {
  'Relation Name'?: string;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

function chunkScan(node: PlanNode): PlanNode | undefined {
  if (node['Relation Name'] === 'chunks') return node;
  for (const child of node.Plans ?? []) {
    const found = chunkScan(child);
    if (found) return found;
  }
  return undefined;
}

/** How Postgres plans `vectorSearchQuery` under these settings: on the HNSW index or not, and why. */
export function vectorPlan(
  pool: pg.Pool,
  scope: SearchScope,
  vector: number[],
  hnsw: HnswSession,
  { k = K, forceIndex = false }: VectorSqlOptions = {},
): Promise<VectorPlan> {
  const query = vectorSearchQuery(scope, vector, k);
  return inHnswSession(pool, hnsw, forceIndex, async (client) => {
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `EXPLAIN (FORMAT JSON) ${query.text}`,
      query.values,
    );
    const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
    return {
      usesIndex: JSON.stringify(plan).includes(HNSW_INDEX),
      chunkRowsEstimate: plan ? chunkScan(plan)?.['Plan Rows'] : undefined,
    };
  });
}

/**
 * VECTOR: the same SQL on a plain pg connection and through the server's Prisma client (the
 * statements `vectorSearch` sends), the document service in-process (adds embedding the query
 * and loading the hits' chunks with their documents), and GraphQL over HTTP; `hydrate only`
 * times that loading step alone (the service's `hydrateHits`) for the same hits. KEYWORD and
 * HYBRID: the service and GraphQL, KEYWORD also as `keywordSearch` alone.
 */
export async function searchPaths(deps: PathDeps, queries: string[]): Promise<SearchPath[]> {
  const { server, pool, embedder, scope, hnsw } = deps;
  const db = server.app.database.prisma;
  const documents = server.app.services.documents;
  const embed = async (q: string) => (await embedder.embed([q]))[0] as number[];
  const graphql = (mode: SearchMode): SearchPath => ({
    mode,
    path: 'graphql http',
    async run(q) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SEARCH, variables: { q, mode, k: K } }),
      });
      const body = (await response.json()) as { data?: { search: unknown[] }; errors?: unknown };
      if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
      return body.data.search.length;
    },
  });
  const service = (mode: SearchMode): SearchPath => ({
    mode,
    path: 'service',
    run: async (q) => (await documents.search(scope.userId, q, K, mode)).length,
  });
  const hits = new Map<string, ScoredChunk[]>();
  for (const q of queries) {
    const rows = await sqlVectorSearch(pool, scope, await embed(q), hnsw);
    hits.set(
      q,
      rows.map((h) => {
        const score = 1 - Number(h.distance);
        return { chunkId: h.chunk_id, documentId: h.document_id, score, vectorScore: score, keywordScore: null };
      }),
    );
  }
  return [
    {
      mode: 'VECTOR',
      path: 'sql pg',
      run: async (q) => (await sqlVectorSearch(pool, scope, await embed(q), hnsw)).length,
    },
    {
      mode: 'VECTOR',
      path: 'sql prisma',
      async run(q) {
        const [, , rows] = await db.$transaction([
          ...hnswSettings(db),
          db.$queryRaw<unknown[]>(vectorSearchQuery(scope, await embed(q), K)),
        ]);
        return rows.length;
      },
    },
    {
      mode: 'VECTOR',
      path: 'hydrate only',
      run: async (q) => (await hydrateHits(db, hits.get(q) ?? [])).length,
    },
    service('VECTOR'),
    graphql('VECTOR'),
    { mode: 'KEYWORD', path: 'sql prisma', run: async (q) => (await keywordSearch(db, scope, q, K)).length },
    service('KEYWORD'),
    graphql('KEYWORD'),
    service('HYBRID'),
    graphql('HYBRID'),
  ];
}
