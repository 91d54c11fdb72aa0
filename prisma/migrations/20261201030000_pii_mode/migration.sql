-- The privacy mode of a user and of a key (src/privacy): the strictest of theirs and the config
-- file's applies; null: none set.
ALTER TABLE "users" ADD COLUMN "pii_mode" TEXT;
ALTER TABLE "users" ADD CONSTRAINT "users_pii_mode_check" CHECK ("pii_mode" IN ('off', 'logs', 'mask', 'block'));
ALTER TABLE "api_keys" ADD COLUMN "pii_mode" TEXT;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_pii_mode_check" CHECK ("pii_mode" IN ('off', 'logs', 'mask', 'block'));
