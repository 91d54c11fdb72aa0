import type { Db } from '../db/database.js';
import { Prisma } from '../generated/prisma/client.js';

/** Candidates HNSW keeps while searching (pgvector's default is 40). */
const HNSW_EF_SEARCH = 100;

/** Statements that tune HNSW for one transaction. */
export function hnswSettings(db: Db): [ReturnType<Db['$executeRaw']>, ReturnType<Db['$executeRaw']>] {
  // A wider candidate list and iterative scans keep recall up when the viewer's filters
  // (user, model, collection) discard many of the index's nearest neighbours.
  return [
    db.$executeRaw`SET LOCAL hnsw.ef_search = ${Prisma.raw(String(HNSW_EF_SEARCH))}`,
    db.$executeRaw`SET LOCAL hnsw.iterative_scan = relaxed_order`,
  ];
}
