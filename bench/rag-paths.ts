import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import { keywordSearchQuery, type SearchMode, type SearchScope, vectorSearchQuery } from '../src/rag/search.js';
import type { HitRow } from '../src/rag/search-hits.js';
import type { Server } from '../src/server.js';
import type { graphqlPoster } from './graphql-post.js';
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

/** The HNSW settings a session has (the server's and the bench pool's get them on connect). */
export async function sessionHnswSettings(query: (sql: string) => Promise<HnswSession[]>): Promise<HnswSession> {
  const [settings] = await query(`SELECT current_setting('hnsw.ef_search') AS "efSearch",
    current_setting('hnsw.iterative_scan') AS "iterativeScan"`);
  if (!settings) throw new Error('could not read the HNSW settings');
  return settings;
}

export interface PathDeps {
  server: Server;
  pool: pg.Pool;
  embedder: Embedder;
  scope: SearchScope;
  /** The client of the GraphQL paths. */
  http: ReturnType<typeof graphqlPoster>;
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
): Promise<VectorRow[]> {
  const query = vectorSearchQuery(scope, vector, k);
  return inHnswSession(pool, hnsw, forceIndex, async (client) =>
    (await client.query<HitRow>(query.text, query.values)).rows.map(vectorRowOf),
  );
}

export interface VectorRow {
  chunk_id: string;
  distance: number;
}

/** A VECTOR search row's chunk and cosine distance. */
export const vectorRowOf = (row: HitRow): VectorRow => ({
  chunk_id: row.c_id,
  distance: Number(row.distance),
});

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
 * VECTOR and KEYWORD: the one statement the mode's search sends (it ranks and loads the hits'
 * chunks and documents) on a plain pg connection (VECTOR after embedding the query), the
 * document service in-process, and GraphQL over HTTP. HYBRID (two statements, then fusion): the
 * service and GraphQL. The pool and the server's connections have the same HNSW session settings.
 */
export function searchPaths(deps: PathDeps): SearchPath[] {
  const { server, pool, embedder, scope, http } = deps;
  const documents = server.app.services.documents;
  const vectorSearch = async (q: string) => vectorSearchQuery(scope, (await embedder.embed([q]))[0] as number[], K);
  const graphql = (mode: SearchMode): SearchPath => ({
    mode,
    path: 'graphql http',
    async run(q) {
      const body = await http.post<{ search: unknown[] }>(SEARCH, { q, mode, k: K });
      if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
      return body.data.search.length;
    },
  });
  const service = (mode: SearchMode): SearchPath => ({
    mode,
    path: 'service',
    run: async (q) => (await documents.search(scope.userId, q, K, mode)).length,
  });
  return [
    {
      mode: 'VECTOR',
      path: 'sql pg',
      async run(q) {
        const query = await vectorSearch(q);
        return (await pool.query(query.text, query.values)).rows.length;
      },
    },
    service('VECTOR'),
    graphql('VECTOR'),
    {
      mode: 'KEYWORD',
      path: 'sql pg',
      async run(q) {
        const query = keywordSearchQuery(scope, q, K);
        return (await pool.query(query.text, query.values)).rows.length;
      },
    },
    service('KEYWORD'),
    graphql('KEYWORD'),
    service('HYBRID'),
    graphql('HYBRID'),
  ];
}
