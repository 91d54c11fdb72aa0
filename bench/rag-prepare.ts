import type pg from 'pg';
import type { Embedder } from '../src/embeddings/index.js';
import type { Vocabulary } from './rag-corpus.js';
import { HNSW_INDEX, type IndexBuild, indexDefinition, rebuildHnswIndex } from './rag-db.js';
import { type BulkLoad, bulkLoad } from './rag-load.js';

export interface PreparedCorpus {
  load: BulkLoad;
  index: IndexBuild;
  /** The rebuilt index reads back exactly as the migrated one did (pg_get_indexdef). */
  indexMatchesMigration: boolean;
}

export interface PrepareOptions {
  pool: pg.Pool;
  embedder: Embedder;
  vocab: Vocabulary;
  seed: number;
  userId: string;
  chunks: number;
  maintenanceWorkMem: string | undefined;
  log: (line: string) => void;
}

/**
 * Fills the migrated database: drops the HNSW index, bulk-loads the corpus, recreates the index
 * with the migration's own statement (timed), and lets Postgres gather statistics, as autovacuum
 * would after a load like this.
 */
export async function prepareCorpus(options: PrepareOptions): Promise<PreparedCorpus> {
  const { pool, log } = options;
  const migrated = await indexDefinition(pool);
  await pool.query(`DROP INDEX "${HNSW_INDEX}"`);
  let reported = 0;
  const load = await bulkLoad({
    ...options,
    db: pool,
    collection: 'corpus',
    onProgress: (n) => {
      if (n - reported < 20_000) return;
      reported = n;
      log(`loaded ${n} chunks`);
    },
  });
  log(`loaded ${load.chunks} chunks in ${(load.totalMs / 1000).toFixed(1)} s; building ${HNSW_INDEX}`);
  const index = await rebuildHnswIndex(pool, options.maintenanceWorkMem);
  const indexMatchesMigration = migrated !== undefined && migrated === (await indexDefinition(pool));
  log(`index built in ${(index.ms / 1000).toFixed(1)} s; analyzing`);
  await pool.query('VACUUM ANALYZE "chunks", "documents"');
  return { load, index, indexMatchesMigration };
}
