-- Rebuild the HNSW indexes over half-precision copies of the vectors, with fewer links per node
-- and a deeper candidate list while building. The columns keep full precision; only the indexes
-- and the distances that search orders by use `halfvec` (queries cast both sides, see
-- src/rag/vector-sql.ts). Measured on 100,000 local/hash-384 chunks (bench/rag-search.ts):
-- - halfvec: index tuples half the size (98 against 195 MiB), so an insert touches fewer pages.
-- - m 8 (pgvector's default is 16): an insert re-prunes its neighbours' link lists, so fewer
--   links make inserts cheaper; and the planner's cost estimate for an index scan grows with
--   m x ef_search, so m 8 lets search run at ef_search 200 and still be planned on the index.
-- - ef_construction 160 (default 64): links chosen from a wider search. This is what lifts
--   recall: recall@10 at ef_search 200 for passage-sized queries was 0.99 (0.94 built at 128,
--   0.98 at 200; 0.93 for the default m 16, ef_construction 64); each step up costs insert
--   time (ingestion through GraphQL at 128: about 1,000 chunks/s, 160: 950, 200: 880).
DROP INDEX "chunks_embedding_384_idx";
DROP INDEX "chunks_embedding_768_idx";
DROP INDEX "chunks_embedding_1024_idx";
DROP INDEX "chunks_embedding_1536_idx";
CREATE INDEX "chunks_embedding_384_idx" ON "chunks" USING hnsw (("embedding"::halfvec(384)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 384;
CREATE INDEX "chunks_embedding_768_idx" ON "chunks" USING hnsw (("embedding"::halfvec(768)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 768;
CREATE INDEX "chunks_embedding_1024_idx" ON "chunks" USING hnsw (("embedding"::halfvec(1024)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 1024;
CREATE INDEX "chunks_embedding_1536_idx" ON "chunks" USING hnsw (("embedding"::halfvec(1536)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 1536;

DROP INDEX "memories_embedding_384_idx";
DROP INDEX "memories_embedding_768_idx";
DROP INDEX "memories_embedding_1024_idx";
DROP INDEX "memories_embedding_1536_idx";
CREATE INDEX "memories_embedding_384_idx" ON "memories" USING hnsw (("embedding"::halfvec(384)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 384;
CREATE INDEX "memories_embedding_768_idx" ON "memories" USING hnsw (("embedding"::halfvec(768)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 768;
CREATE INDEX "memories_embedding_1024_idx" ON "memories" USING hnsw (("embedding"::halfvec(1024)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 1024;
CREATE INDEX "memories_embedding_1536_idx" ON "memories" USING hnsw (("embedding"::halfvec(1536)) halfvec_cosine_ops) WITH (m = 8, ef_construction = 160) WHERE "embedding_dims" = 1536;
