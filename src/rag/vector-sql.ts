import pgvector from 'pgvector';
import { Prisma } from '../generated/prisma/client.js';

/**
 * Dimensions that have an HNSW index (see the migrations). A query casts the untyped
 * `embedding` column to `halfvec(n)` so that Postgres can use the partial index for `n`.
 */
export const INDEXED_DIMENSIONS = [384, 768, 1024, 1536] as const;

/** A vector as a bound parameter (pgvector's text form), cast in SQL with `::vector`. */
export function vectorParam(vector: number[]): string {
  return pgvector.toSql(vector) as string;
}

/**
 * The `halfvec(n)` type that searches cast both sides to: the HNSW indexes are built over
 * half-precision copies of the stored vectors (see the halfvec migration), and a query uses an
 * index only when it orders by the index's own expression. A type modifier cannot be a bound parameter, so `n` is
 * interpolated, but only ever a whole number checked here, never text from a request.
 */
export function vectorType(dimensions: number): Prisma.Sql {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 16_000) {
    throw new RangeError(`invalid vector dimension ${dimensions}`);
  }
  return Prisma.raw(`halfvec(${dimensions})`);
}
