import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Embedder, EmbedOptions } from '../embeddings/index.js';
import { vectorParam, vectorType } from '../embeddings/vector-sql.js';
import { badInput, notFound } from '../errors.js';

export interface RememberInput {
  content: string;
  kind?: string | null;
  importance?: number | null;
}

/** Cosine similarity at which a new memory is taken as the same fact as an old one. */
export const DUPLICATE_SIMILARITY = 0.9;
/** Recall ranking weights: similarity dominates; recency and importance break near-ties. */
export const RECALL_WEIGHTS = { similarity: 0.7, recency: 0.2, importance: 0.1 } as const;
/** A memory's recency halves every this many days since it was made or last recalled. */
export const RECENCY_HALF_LIFE_DAYS = 30;
/** Longest memory, in characters: memories are short facts. */
export const MAX_MEMORY_CHARS = 2_000;
const MAX_RECALL_K = 50;
const CANDIDATES = 50;

export type MemoryService = ReturnType<typeof createMemoryService>;

/**
 * Short facts per user. `remember` merges a near-duplicate into the existing memory instead of
 * storing it twice; `recall` ranks by
 *   score = 0.7 * similarity + 0.2 * 0.5^(days since last use / 30) + 0.1 * importance
 * and stamps `lastRecalledAt` on what it returns. Each method that embeds tells its `onUsage` the
 * tokens the provider reported for it.
 */
export function createMemoryService({ db, embedder }: { db: Db; embedder: Embedder }) {
  const nearest = async (userId: string, vector: number[], limit: number) => {
    const type = vectorType(vector.length);
    return db.$queryRaw<{ id: string; similarity: number; importance: number; last_used: Date }[]>`
      SELECT "id", 1 - ("embedding"::${type} <=> ${vectorParam(vector)}::${type}) AS similarity, "importance",
             COALESCE("last_recalled_at", "created_at") AS last_used
        FROM "memories"
       WHERE "user_id" = ${userId}::uuid AND "embedding_dims" = ${vector.length} AND "embedding_model" = ${embedder.model}
       ORDER BY "embedding"::${type} <=> ${vectorParam(vector)}::${type}
       LIMIT ${limit}`;
  };

  return {
    async remember(userId: string, input: RememberInput, onUsage?: EmbedOptions['onUsage']) {
      const content = input.content.trim();
      if (content === '') throw badInput('content must not be empty', { field: 'content' });
      if (content.length > MAX_MEMORY_CHARS) {
        throw badInput(`a memory is at most ${MAX_MEMORY_CHARS} characters`, {
          field: 'content',
          max: MAX_MEMORY_CHARS,
        });
      }
      const importance = input.importance ?? 0.5;
      if (!(importance >= 0 && importance <= 1))
        throw badInput('importance must be between 0 and 1', { field: 'importance' });
      const [vector] = await embedder.embed([content], { onUsage });
      const embedding = vector as number[];
      const [closest] = await nearest(userId, embedding, 1);
      if (closest && Number(closest.similarity) >= DUPLICATE_SIMILARITY) {
        await db.$executeRaw`
          UPDATE "memories" SET "content" = ${content}, "kind" = COALESCE(${input.kind ?? null}, "kind"),
                 "importance" = GREATEST("importance", ${importance}),
                 "embedding" = ${vectorParam(embedding)}::vector, "updated_at" = now()
           WHERE "id" = ${closest.id}::uuid`;
        return db.memory.findUniqueOrThrow({ where: { id: closest.id } });
      }
      const id = randomUUID();
      await db.$executeRaw`
        INSERT INTO "memories" ("id", "user_id", "content", "kind", "importance", "embedding", "embedding_model",
                                "embedding_dims", "updated_at")
        VALUES (${id}::uuid, ${userId}::uuid, ${content}, ${input.kind ?? null}, ${importance},
                ${vectorParam(embedding)}::vector, ${embedder.model}, ${embedding.length}, now())`;
      return db.memory.findUniqueOrThrow({ where: { id } });
    },

    async recall(userId: string, query: string, k: number, onUsage?: EmbedOptions['onUsage']) {
      if (query.trim() === '') throw badInput('query must not be empty', { field: 'query' });
      if (!Number.isInteger(k) || k < 1 || k > MAX_RECALL_K) {
        throw badInput(`k must be between 1 and ${MAX_RECALL_K}`, { field: 'k' });
      }
      const [vector] = await embedder.embed([query], { onUsage });
      const candidates = await nearest(userId, vector as number[], Math.max(CANDIDATES, k));
      const now = Date.now();
      const ranked = candidates
        .map((c) => {
          const days = (now - new Date(c.last_used).getTime()) / 86_400_000;
          const recency = 0.5 ** (days / RECENCY_HALF_LIFE_DAYS);
          const score =
            RECALL_WEIGHTS.similarity * Number(c.similarity) +
            RECALL_WEIGHTS.recency * recency +
            RECALL_WEIGHTS.importance * Number(c.importance);
          return { id: c.id, score };
        })
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
      if (ranked.length === 0) return [];
      await db.memory.updateMany({
        where: { id: { in: ranked.map((r) => r.id) } },
        data: { lastRecalledAt: new Date() },
      });
      const rows = await db.memory.findMany({ where: { id: { in: ranked.map((r) => r.id) } } });
      const byId = new Map(rows.map((m) => [m.id, m]));
      return ranked.flatMap((r) => {
        const memory = byId.get(r.id);
        return memory ? [{ memory, score: r.score }] : [];
      });
    },

    /** Re-embeds the viewer's memories made by another model, so recall compares like with like. */
    async reembed(userId: string, onUsage?: EmbedOptions['onUsage']) {
      const stale = await db.$queryRaw<{ id: string; content: string }[]>`
        SELECT "id", "content" FROM "memories"
         WHERE "user_id" = ${userId}::uuid AND "embedding_model" IS DISTINCT FROM ${embedder.model}`;
      for (let i = 0; i < stale.length; i += 64) {
        const batch = stale.slice(i, i + 64);
        const vectors = await embedder.embed(
          batch.map((m) => m.content),
          { onUsage },
        );
        for (const [j, memory] of batch.entries()) {
          const vector = vectors[j] as number[];
          await db.$executeRaw`
            UPDATE "memories" SET "embedding" = ${vectorParam(vector)}::vector, "embedding_model" = ${embedder.model},
                   "embedding_dims" = ${vector.length}, "updated_at" = now()
             WHERE "id" = ${memory.id}::uuid`;
        }
      }
      return stale.length;
    },

    async forget(userId: string, id: string) {
      const { count } = await db.memory.deleteMany({ where: { id, userId } });
      if (count === 0) throw notFound('Memory', id);
    },
  };
}
