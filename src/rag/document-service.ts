import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import type { Embedder, EmbedOptions } from '../embeddings/index.js';
import { badInput, notFound } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { MAX_DOCUMENT_BYTES } from './document-limits.js';
import type { TextExtractor } from './extract/extract-upload.js';
import type { Indexer } from './indexer.js';
import { fuse, keywordSearchQuery, type SearchMode, searchHits, vectorSearchQuery } from './search.js';

export interface IngestInput {
  title: string;
  content: string;
  mimeType?: string | null;
  collection?: string | null;
  metadata?: unknown;
}

/** A file's extracted `text`, stored under the file's own type (e.g. application/pdf). */
export interface IngestFileInput extends Omit<IngestInput, 'content' | 'mimeType'> {
  text: string;
  mimeType: string;
}

export { MAX_DOCUMENT_BYTES };

export const ACCEPTED_MIME_TYPES = ['text/plain', 'text/markdown', 'text/html'] as const;
/** Types an uploaded file may keep as its document's mimeType; its extracted text is what gets indexed. */
export const ACCEPTED_FILE_MIME_TYPES = [...ACCEPTED_MIME_TYPES, 'application/pdf'] as const;
export const MAX_SEARCH_K = 50;

export interface DocumentServiceDeps {
  db: Db;
  /** Runs the search statements. */
  sql: SqlRunner;
  embedder: Embedder;
  indexer: Indexer;
  /** Reads uploads off the event loop (HeavyWork.extractText). */
  extractText: TextExtractor;
}

export type DocumentService = ReturnType<typeof createDocumentService>;

/** Documents and retrieval, always scoped to the viewer. */
export function createDocumentService({ db, sql, embedder, indexer, extractText }: DocumentServiceDeps) {
  const validate = (input: IngestInput, accepted: readonly string[]) => {
    const mimeType = input.mimeType ?? 'text/plain';
    if (!accepted.includes(mimeType)) {
      throw badInput(`mimeType ${mimeType} is not accepted; use one of ${accepted.join(', ')}`, {
        field: 'mimeType',
        accepted: [...accepted],
      });
    }
    if (input.title.trim() === '') throw badInput('title must not be empty', { field: 'title' });
    if (input.content.trim() === '') throw badInput('content must not be empty', { field: 'content' });
    const bytes = Buffer.byteLength(input.content, 'utf8');
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw badInput(`content is ${bytes} bytes; at most ${MAX_DOCUMENT_BYTES} are accepted`, {
        field: 'content',
        max: MAX_DOCUMENT_BYTES,
      });
    }
    return mimeType;
  };

  return {
    /** The model whose vectors search compares against. */
    embeddingModel: embedder.model,

    /** An upload's text, for `extractUpload`: read on a worker thread, within the upload limits. */
    extractText,

    /**
     * Stores the document PENDING and indexes it in the background; the same content in the same collection returns the existing document.
     * `accepted` widens the mimeTypes for `ingestFile`, whose stored type (e.g. application/pdf) differs from the text indexed.
     */
    async ingest(userId: string, input: IngestInput, accepted: readonly string[] = ACCEPTED_MIME_TYPES) {
      const mimeType = validate(input, accepted);
      const collection = input.collection ?? null;
      const contentHash = createHash('sha256').update(input.content).digest('hex');
      const existing = () => db.document.findFirst({ where: { userId, collection, contentHash } });
      const found = await existing();
      if (found && found.status !== 'FAILED') return found;
      if (found) await db.document.delete({ where: { id: found.id } });
      try {
        const document = await db.document.create({
          data: {
            userId,
            title: input.title.trim(),
            collection,
            mimeType,
            metadata: (input.metadata ?? undefined) as Prisma.InputJsonValue | undefined,
            content: input.content,
            contentHash,
          },
        });
        indexer.start(document.id, document.updatedAt);
        return document;
      } catch (error) {
        // Two identical ingests raced: the unique index let one in; return that one.
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
          const winner = await existing();
          if (winner) return winner;
        }
        throw error;
      }
    },

    /** Like `ingest`, for text extracted from an uploaded file: indexes `text`, keeps the file's own type. */
    async ingestFile(userId: string, { text, ...file }: IngestFileInput) {
      return this.ingest(userId, { ...file, content: text }, ACCEPTED_FILE_MIME_TYPES);
    },

    /**
     * Moves the viewer's corpus to the active embedding model: every document with vectors of
     * another model is indexed again from its stored text. Returns how many were queued.
     */
    async reembed(userId: string, collection?: string | null) {
      const stale = await db.document.findMany({
        where: {
          userId,
          ...(collection == null ? {} : { collection }),
          status: { in: ['READY', 'FAILED'] },
          chunks: { some: { OR: [{ embeddingModel: { not: embedder.model } }, { embeddingModel: null }] } },
        },
        select: { id: true },
      });
      for (const { id } of stale) {
        const pending = await db.document.update({ where: { id }, data: { status: 'PENDING' } });
        indexer.start(id, pending.updatedAt);
      }
      return stale.length;
    },

    async delete(userId: string, id: string) {
      const { count } = await db.document.deleteMany({ where: { id, userId } });
      if (count === 0) throw notFound('Document', id);
      // Its chunks went with it; the work still under way for it would only be thrown away.
      indexer.cancel(id);
    },

    /**
     * Top `k` chunks for a query: VECTOR (cosine, HNSW), KEYWORD (full text) or HYBRID (rank fusion).
     * `onUsage` is told the query embedding's tokens, when the provider reports them.
     */
    async search(
      userId: string,
      query: string,
      k: number,
      mode: SearchMode,
      collection?: string | null,
      onUsage?: EmbedOptions['onUsage'],
    ) {
      if (query.trim() === '') throw badInput('query must not be empty', { field: 'query' });
      if (!Number.isInteger(k) || k < 1 || k > MAX_SEARCH_K) {
        throw badInput(`k must be between 1 and ${MAX_SEARCH_K}`, { field: 'k', max: MAX_SEARCH_K });
      }
      const scope = { userId, collection, model: embedder.model };
      const byVector = async (n: number) =>
        searchHits(sql, vectorSearchQuery(scope, (await embedder.embed([query], { onUsage }))[0] as number[], n));
      const byKeyword = (n: number) => searchHits(sql, keywordSearchQuery(scope, query, n));
      if (mode === 'VECTOR') return byVector(k);
      if (mode === 'KEYWORD') return byKeyword(k);
      const depth = Math.max(k * 4, 20);
      const [vector, keyword] = await Promise.all([byVector(depth), byKeyword(depth)]);
      return fuse(vector, keyword, k);
    },
  };
}
