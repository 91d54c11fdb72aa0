import type { SqlRunner } from '../db/sql-runner.js';
import { vectorBinaryParam, vectorType } from '../embeddings/vector-sql.js';
import { Prisma } from '../generated/prisma/client.js';
import { HIT_COLUMNS, type HitRow, hitOf, type ScoredChunk, type SearchHit } from './search-hits.js';

export type SearchMode = 'VECTOR' | 'KEYWORD' | 'HYBRID';

export interface SearchScope {
  userId: string;
  collection?: string | null;
  /** Only vectors of this embedding model are compared. */
  model: string;
}

/** Rank fusion constant from the original RRF paper; damps the weight of the very top ranks. */
const RRF_K = 60;

const collectionFilter = (collection: string | null | undefined) =>
  collection == null ? Prisma.empty : Prisma.sql`AND d."collection" = ${collection}`;

const HITS = Prisma.raw(HIT_COLUMNS);

/**
 * The VECTOR search, shared with the test that checks Postgres plans it on the HNSW index. The
 * join with documents (a primary-key lookup per chunk, at most one row) is planned from the
 * documents' statistics: for a large corpus Postgres keeps the ordered HNSW scan (a nested loop
 * preserves its order) at any k, and for a user with few chunks it picks the exact scan and sort,
 * which is both faster and complete. (A `document_id = ANY(<subquery array>)` filter is estimated
 * as ten documents whatever the real count, which at 100,000 chunks turned k = 40 into a scan of
 * every chunk.) The HNSW settings are the session's (see hnsw-settings).
 */
export function vectorSearchQuery(scope: SearchScope, query: number[], k: number): Prisma.Sql {
  const type = vectorType(query.length);
  // Ordering by the selected distance is ordering by the index's expression, with the query
  // vector sent once. Run through SqlRunner (the vector is a binary parameter).
  return Prisma.sql`
    SELECT ${HITS}, c."embedding"::${type} <=> ${vectorBinaryParam(query)}::vector::${type} AS distance, NULL::float8 AS keyword_score
      FROM "chunks" c
      JOIN "documents" d ON d."id" = c."document_id" AND d."user_id" = ${scope.userId}::uuid AND d."status" = 'READY'
                            ${collectionFilter(scope.collection)}
     WHERE c."embedding_dims" = ${query.length} AND c."embedding_model" = ${scope.model}
       AND c."user_id" = ${scope.userId}::uuid
     ORDER BY distance
     LIMIT ${k}`;
}

/** The KEYWORD search: Postgres full-text search (`websearch_to_tsquery`), ranked with `ts_rank_cd`. */
export function keywordSearchQuery(scope: Omit<SearchScope, 'model'>, query: string, k: number): Prisma.Sql {
  return Prisma.sql`
    SELECT ${HITS}, NULL::float8 AS distance, ts_rank_cd(c."tsv", q)::float8 AS keyword_score
      FROM "chunks" c JOIN "documents" d ON d."id" = c."document_id",
           websearch_to_tsquery('english', ${query}) q
     WHERE c."tsv" @@ q AND c."user_id" = ${scope.userId}::uuid AND d."status" = 'READY'
           ${collectionFilter(scope.collection)}
     ORDER BY keyword_score DESC, c."id"
     LIMIT ${k}`;
}

/** Runs a search statement: its hits with their chunks and documents, best first. */
export async function searchHits(sql: SqlRunner, search: Prisma.Sql): Promise<SearchHit[]> {
  const rows = await sql.query<HitRow>(search);
  // relaxed_order may return neighbours slightly out of order: sort them here (stably, so
  // keyword ties keep their id order).
  return rows.map(hitOf).sort((a, b) => b.score - a.score);
}

/**
 * Reciprocal rank fusion: each list contributes 1 / (RRF_K + rank); a chunk found by both
 * modes rises above one found by either alone. Keeps each mode's own score beside the fused one.
 */
export function fuse<T extends ScoredChunk>(vector: T[], keyword: T[], k: number): T[] {
  const fused = new Map<string, T>();
  const add = (list: T[], field: 'vectorScore' | 'keywordScore') => {
    list.forEach((hit, rank) => {
      const entry = fused.get(hit.chunkId) ?? { ...hit, score: 0, vectorScore: null, keywordScore: null };
      entry.score += 1 / (RRF_K + rank + 1);
      entry[field] = hit[field];
      fused.set(hit.chunkId, entry);
    });
  };
  add(vector, 'vectorScore');
  add(keyword, 'keywordScore');
  return [...fused.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId)).slice(0, k);
}
