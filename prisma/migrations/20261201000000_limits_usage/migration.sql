-- Issue 16: limits per key and per user, cost on messages, and usage events complete enough to be
-- the budget ledger (Postgres is the record; Redis only the fast path).
ALTER TABLE "users" ADD COLUMN "limits" JSONB;
ALTER TABLE "api_keys" ADD COLUMN "limits" JSONB;

ALTER TABLE "messages" ADD COLUMN "cost_usd" DECIMAL(20,10);

ALTER TABLE "usage_events" ALTER COLUMN "cost_usd" TYPE DECIMAL(20,10),
ADD COLUMN "cached_prompt_tokens" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "status" TEXT NOT NULL DEFAULT 'COMPLETE',
ADD COLUMN "latency_ms" DOUBLE PRECISION,
ADD COLUMN "estimated" BOOLEAN NOT NULL DEFAULT false;

CREATE INDEX "usage_events_created_at_idx" ON "usage_events"("created_at");
