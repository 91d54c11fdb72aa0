import type { Chunk, Document, Prisma } from '../generated/prisma/client.js';

/** A document as search returns it: everything but its source text, which can be megabytes. */
export type DocumentSummary = Omit<Document, 'content'>;

export interface ScoredChunk {
  chunkId: string;
  documentId: string;
  score: number;
  vectorScore: number | null;
  keywordScore: number | null;
}

export interface SearchHit extends ScoredChunk {
  chunk: Chunk;
  document: DocumentSummary;
}

/** What a search statement selects per hit: HIT_COLUMNS and the mode's measure. */
export interface HitRow {
  c_id: string;
  c_document_id: string;
  c_user_id: string;
  c_ordinal: number;
  c_content: string;
  c_token_count: number;
  c_embedding_model: string | null;
  c_embedding_dims: number | null;
  c_created_at: Date;
  d_user_id: string;
  d_title: string;
  d_collection: string | null;
  d_mime_type: string;
  d_metadata: Prisma.JsonValue;
  d_status: Document['status'];
  d_chunk_count: number;
  d_content_hash: string;
  d_error: string | null;
  d_created_at: Date;
  d_updated_at: Date;
  /** Cosine distance, for a VECTOR search. */
  distance: number | null;
  keyword_score: number | null;
}

/**
 * The columns of a hit's chunk `c` and document `d` (without the document's source text), so
 * that a search is one statement: ranking and loading the hits together costs Postgres about what
 * ranking alone does, where a second statement (or a join around the ranking) costs a round trip
 * or a plan more.
 */
export const HIT_COLUMNS = `
  c."id" AS c_id, c."document_id" AS c_document_id, c."user_id" AS c_user_id, c."ordinal" AS c_ordinal,
  c."content" AS c_content, c."token_count" AS c_token_count, c."embedding_model" AS c_embedding_model,
  c."embedding_dims" AS c_embedding_dims, c."created_at" AS c_created_at,
  d."user_id" AS d_user_id, d."title" AS d_title, d."collection" AS d_collection,
  d."mime_type" AS d_mime_type, d."metadata" AS d_metadata, d."status"::text AS d_status,
  d."chunk_count" AS d_chunk_count, d."content_hash" AS d_content_hash, d."error" AS d_error,
  d."created_at" AS d_created_at, d."updated_at" AS d_updated_at`;

export function hitOf(row: HitRow): SearchHit {
  const vectorScore = row.distance === null ? null : 1 - Number(row.distance);
  const keywordScore = row.keyword_score === null ? null : Number(row.keyword_score);
  return {
    chunkId: row.c_id,
    documentId: row.c_document_id,
    score: vectorScore ?? keywordScore ?? 0,
    vectorScore,
    keywordScore,
    chunk: {
      id: row.c_id,
      documentId: row.c_document_id,
      userId: row.c_user_id,
      ordinal: row.c_ordinal,
      content: row.c_content,
      tokenCount: row.c_token_count,
      embeddingModel: row.c_embedding_model,
      embeddingDims: row.c_embedding_dims,
      createdAt: row.c_created_at,
    },
    document: {
      id: row.c_document_id,
      userId: row.d_user_id,
      title: row.d_title,
      collection: row.d_collection,
      mimeType: row.d_mime_type,
      metadata: row.d_metadata,
      status: row.d_status,
      chunkCount: row.d_chunk_count,
      contentHash: row.d_content_hash,
      error: row.d_error,
      createdAt: row.d_created_at,
      updatedAt: row.d_updated_at,
    },
  };
}
