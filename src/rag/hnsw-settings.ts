import type { Db } from '../db/database.js';
import { Prisma } from '../generated/prisma/client.js';

/**
 * Candidates HNSW keeps while searching (pgvector's default is 40). On the m = 8 indexes (see the
 * halfvec migration) 200 finds about 97 % of the exact top 10 for passage-sized queries in
 * 100,000 chunks at about 2 ms, and Postgres still plans the k = 10 search on the index: its cost
 * estimate grows with m x ef_search, and past it the planner prefers a scan and sort.
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
