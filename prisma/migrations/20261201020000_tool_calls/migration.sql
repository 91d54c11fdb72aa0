-- Tools (#17): an assistant message that asked the client to run tools waits in REQUIRES_ACTION
-- with its calls; the client's results are kept on that same message (not as messages of a new
-- role), so answering is one conditional UPDATE that can happen only once, and Role stays the
-- public three. `turn_options` keeps what the continuation needs again (tools, format, model knobs).
ALTER TYPE "MessageStatus" ADD VALUE 'REQUIRES_ACTION';
ALTER TABLE "messages" ADD COLUMN "tool_calls" JSONB;
ALTER TABLE "messages" ADD COLUMN "tool_results" JSONB;
ALTER TABLE "messages" ADD COLUMN "turn_options" JSONB;
