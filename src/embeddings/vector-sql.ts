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
 * A vector as a binary bound parameter (pgvector's wire format: dimensions, a reserved zero, then
 * big-endian float4s), cast in SQL with `::vector`. node-postgres sends a Buffer in binary, so
 * this is for statements run on it directly (SqlRunner; Prisma would bind it as bytea). Writing
 * it costs a few microseconds where the decimal text form costs about 75 per 384 dimensions,
 * and Postgres reads it without parsing decimals.
 */
export function vectorBinaryParam(vector: number[]): Buffer {
  const buffer = Buffer.allocUnsafe(4 + 4 * vector.length);
  buffer.writeInt16BE(vector.length, 0);
  buffer.writeInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) buffer.writeFloatBE(vector[i] as number, 4 + 4 * i);
  return buffer;
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
