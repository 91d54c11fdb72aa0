-- Issue 15: JWT users by subject; API keys with model restrictions and expiry. A key's prefix is
-- for people to tell keys apart, not an identifier: lookups go by hash.
ALTER TABLE "users" ADD COLUMN "auth_subject" TEXT;
CREATE UNIQUE INDEX "users_auth_subject_key" ON "users"("auth_subject");

ALTER TABLE "api_keys" ADD COLUMN "allowed_models" JSONB,
ADD COLUMN "expires_at" TIMESTAMPTZ(3);
DROP INDEX "api_keys_prefix_key";
