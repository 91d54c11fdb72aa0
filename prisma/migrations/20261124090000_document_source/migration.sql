-- Keep each document's source text, so that indexing can resume after a crash and a corpus can
-- be re-embedded; and make re-ingesting the same content into the same collection idempotent
-- even when two requests race (NULLS NOT DISTINCT: documents without a collection count too).
ALTER TABLE "documents" ADD COLUMN "content" TEXT NOT NULL DEFAULT '';
DROP INDEX "documents_user_id_collection_content_hash_idx";
CREATE UNIQUE INDEX "documents_user_id_collection_content_hash_key"
    ON "documents"("user_id", "collection", "content_hash") NULLS NOT DISTINCT;
CREATE INDEX "documents_status_updated_at_idx" ON "documents"("status", "updated_at");
