-- A key made by another key (one without ADMIN) is charged to its maker's limits as well, so
-- making keys cannot multiply a key's limits.
ALTER TABLE "api_keys" ADD COLUMN "parent_key_id" UUID;
CREATE INDEX "api_keys_parent_key_id_idx" ON "api_keys"("parent_key_id");
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_parent_key_id_fkey" FOREIGN KEY ("parent_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;
