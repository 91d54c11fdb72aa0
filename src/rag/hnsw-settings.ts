/**
 * Candidates HNSW keeps while searching (pgvector's default is 40). On the m = 8 indexes (see the
 * halfvec migration), in 100,000 chunks, 200 finds 0.95 to 0.98 of the exact top 10 for
 * passage-sized queries (depending on the build) and about 0.8 for four-word queries, at a p50
 * of about 3 ms in SQL; 400 finds 0.99 and 0.88 but takes 4 to 7 ms. Postgres still plans the
 * search on the index at either.
 */
export const HNSW_EF_SEARCH = 200;

/**
 * HNSW settings of every database session, given when the connection opens, so that a search is
 * one statement rather than a transaction around it. A wider candidate list and iterative scans
 * keep recall up when the viewer's filters (user, model, collection) discard many of the index's
 * nearest neighbours. Postgres keeps them as placeholders until pgvector loads.
 */
export const HNSW_SESSION_SETTINGS: Readonly<Record<string, string>> = {
  'hnsw.ef_search': String(HNSW_EF_SEARCH),
  'hnsw.iterative_scan': 'relaxed_order',
};
