import type { Db } from '../db/database.js';
import { Prisma } from '../generated/prisma/client.js';
import { hnswSettings } from './hnsw-settings.js';
import { vectorParam, vectorType } from './vector-sql.js';

export type SearchMode = 'VECTOR' | 'KEYWORD' | 'HYBRID';

export interface SearchScope {
  userId: string;
  collection?: string | null;
  /** Only vectors of this embedding model are compared. */
  model: string;
}

export interface ScoredChunk {
  chunkId: string;
  documentId: string;
  score: number;
  vectorScore: number | null;
  keywordScore: number | null;
}

/** Rank fusion constant from the original RRF paper; damps the weight of the very top ranks. */
const RRF_K = 60;

const collectionFilter = (collection: string | null | undefined) =>
  collection == null ? Prisma.empty : Prisma.sql`AND d."collection" = ${collection}`;

/**
 * The VECTOR query, shared with the test that checks Postgres plans it on the HNSW index.
 * Document-level filters are a semi-join (EXISTS), which the planner estimates from the
 * documents' statistics: for a large corpus it keeps the ordered HNSW scan (a nested loop
 * preserves its order) at any k, and for a user with few chunks it picks the exact scan and
 * sort, which is both faster and complete. (A `document_id = ANY(<subquery array>)` filter is
 * estimated as ten documents whatever the real count, which at 100,000 chunks turned k = 40
 * into a scan of every chunk.)
 */
export function vectorSearchQuery(scope: SearchScope, query: number[], k: number): Prisma.Sql {
  const type = vectorType(query.length);
  return Prisma.sql`
    SELECT c."id" AS chunk_id, c."document_id", c."embedding"::${type} <=> ${vectorParam(query)}::${type} AS distance
      FROM "chunks" c
     WHERE c."embedding_dims" = ${query.length} AND c."embedding_model" = ${scope.model}
       AND c."user_id" = ${scope.userId}::uuid
       AND EXISTS (SELECT 1 FROM "documents" d
                    WHERE d."id" = c."document_id" AND d."user_id" = ${scope.userId}::uuid AND d."status" = 'READY'
                          ${collectionFilter(scope.collection)})
     ORDER BY c."embedding"::${type} <=> ${vectorParam(query)}::${type}
     LIMIT ${k}`;
}

/** Cosine similarity over the HNSW index of the query's dimension, within the viewer's READY documents. */
export async function vectorSearch(db: Db, scope: SearchScope, query: number[], k: number): Promise<ScoredChunk[]> {
  const [efSearch, iterative] = hnswSettings(db);
  const [, , rows] = await db.$transaction([
    efSearch,
    iterative,
    db.$queryRaw<{ chunk_id: string; document_id: string; distance: number }[]>(vectorSearchQuery(scope, query, k)),
  ]);
  // relaxed_order may return neighbours slightly out of order: sort them here.
  return rows
    .map((r): ScoredChunk => {
      const score = 1 - Number(r.distance);
      return { chunkId: r.chunk_id, documentId: r.document_id, score, vectorScore: score, keywordScore: null };
    })
    .sort((a, b) => b.score - a.score);
}

/** Postgres full-text search (`websearch_to_tsquery`), ranked with `ts_rank_cd`. */
export async function keywordSearch(db: Db, scope: Omit<SearchScope, 'model'>, query: string, k: number) {
  const rows = await db.$queryRaw<{ chunk_id: string; document_id: string; rank: number }[]>`
    SELECT c."id" AS chunk_id, c."document_id", ts_rank_cd(c."tsv", q) AS rank
      FROM "chunks" c JOIN "documents" d ON d."id" = c."document_id",
           websearch_to_tsquery('english', ${query}) q
     WHERE c."tsv" @@ q AND c."user_id" = ${scope.userId}::uuid AND d."status" = 'READY'
           ${collectionFilter(scope.collection)}
     ORDER BY rank DESC, c."id"
     LIMIT ${k}`;
  return rows.map(
    (r): ScoredChunk => ({
      chunkId: r.chunk_id,
      documentId: r.document_id,
      score: Number(r.rank),
      vectorScore: null,
      keywordScore: Number(r.rank),
    }),
  );
}

/**
 * Reciprocal rank fusion: each list contributes 1 / (RRF_K + rank); a chunk found by both
 * modes rises above one found by either alone. Keeps each mode's own score beside the fused one.
 */
export function fuse(vector: ScoredChunk[], keyword: ScoredChunk[], k: number): ScoredChunk[] {
  const fused = new Map<string, ScoredChunk>();
  const add = (list: ScoredChunk[], field: 'vectorScore' | 'keywordScore') => {
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
