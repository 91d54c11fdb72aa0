import type { Db } from '../db/database.js';
import { Prisma } from '../generated/prisma/client.js';

/**
 * Candidates HNSW keeps while searching (pgvector's default is 40). On the m = 8 indexes (see the
 * halfvec migration), in 100,000 chunks, 200 finds 0.95 to 0.98 of the exact top 10 for
 * passage-sized queries (depending on the build) and about 0.8 for four-word queries, at a p50
 * of about 3 ms in SQL; 400 finds 0.99 and 0.88 but takes 4 to 7 ms. Postgres still plans the
 * search on the index at either.
 */
const HNSW_EF_SEARCH = 200;

/** Statements that tune HNSW for one transaction. */
export function hnswSettings(db: Db): [ReturnType<Db['$executeRaw']>, ReturnType<Db['$executeRaw']>] {
  // A wider candidate list and iterative scans keep recall up when the viewer's filters
  // (user, model, collection) discard many of the index's nearest neighbours.
  return [
    db.$executeRaw`SET LOCAL hnsw.ef_search = ${Prisma.raw(String(HNSW_EF_SEARCH))}`,
    db.$executeRaw`SET LOCAL hnsw.iterative_scan = relaxed_order`,
  ];
}
