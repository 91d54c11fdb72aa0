/**
 * Candidates HNSW keeps while searching (pgvector's default is 40). On the m = 12 indexes (see the
 * hnsw_m12 migration), in 100,000 chunks, 800 finds 0.96 of the exact top 10 for four-word
 * queries and all of it for passage-sized ones, at an SQL p50 of about 8 ms; 400 finds 0.92 and
 * 1.0 in 5 and 3 ms. Short queries are what need the width: their neighbours are near-ties.
 */
export const HNSW_EF_SEARCH = 800;

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
