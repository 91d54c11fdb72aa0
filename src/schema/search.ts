import type { Document } from '../generated/prisma/client.js';
import { hasScope } from '../policy/viewer.js';
import type { DocumentService } from '../rag/document-service.js';
import { builder } from './builder.js';
import { ChunkRef, DocumentRef } from './document.js';
import { clientId, withClientId } from './global-id.js';

const SearchModeEnum = builder.enumType('SearchMode', { values: ['VECTOR', 'KEYWORD', 'HYBRID'] as const });

type Hit = Awaited<ReturnType<DocumentService['search']>>[number];

const SearchHit = builder.objectRef<Hit>('SearchHit').implement({
  fields: (t) => ({
    chunk: t.field({ type: ChunkRef, resolve: (hit) => hit.chunk }),
    // A hit's document comes without its source text, which the Document type does not show.
    // (A `select` on Document would make Pothos read every hit's document again.)
    document: t.field({ type: DocumentRef, resolve: (hit) => hit.document as Document }),
    score: t.exposeFloat('score', {
      description: 'The ranking score of the mode asked for (fused rank score for HYBRID).',
    }),
    vectorScore: t.exposeFloat('vectorScore', {
      nullable: true,
      description: 'Cosine similarity, when found by vector.',
    }),
    keywordScore: t.exposeFloat('keywordScore', {
      nullable: true,
      description: 'Full-text rank, when found by keyword.',
    }),
  }),
});

const ReembedResult = builder
  .objectRef<{ documents: number; memories: number; model: string }>('ReembedResult')
  .implement({
    fields: (t) => ({
      documents: t.exposeInt('documents', { description: 'Documents queued for indexing with the active model.' }),
      memories: t.exposeInt('memories', { description: 'Memories re-embedded.' }),
      model: t.exposeString('model', { description: 'The active embedding model.' }),
    }),
  });

const IngestDocumentInput = builder.inputType('IngestDocumentInput', {
  fields: (t) => ({
    title: t.string({ required: true }),
    content: t.string({ required: true }),
    mimeType: t.string({ description: 'text/plain (default), text/markdown or text/html.' }),
    collection: t.string(),
    metadata: t.field({ type: 'JSON' }),
  }),
});

builder.queryField('search', (t) =>
  t.field({
    type: [SearchHit],
    authScopes: { documents: true },
    args: {
      query: t.arg.string({ required: true }),
      k: t.arg.int({ defaultValue: 8 }),
      mode: t.arg({ type: SearchModeEnum, defaultValue: 'HYBRID' }),
      collection: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.documents.search(
        ctx.viewer.userId,
        args.query,
        args.k ?? 8,
        args.mode ?? 'HYBRID',
        args.collection,
        ctx.embeddingUsed,
      ),
  }),
);

builder.mutationFields((t) => ({
  ingestDocument: t.field({
    type: DocumentRef,
    authScopes: { documents: true },
    description: 'Stores the document and indexes it in the background (status PENDING -> INDEXING -> READY).',
    args: { input: t.arg({ type: IngestDocumentInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.documents.ingest(ctx.viewer.userId, input),
  }),
  reembed: t.field({
    type: ReembedResult,
    authScopes: { documents: true },
    description:
      "Moves the viewer's documents (optionally one collection) and memories to the active EMBEDDING_MODEL: documents are indexed again in the background from their stored text.",
    args: { collection: t.arg.string() },
    resolve: async (_root, args, ctx) => ({
      documents: await ctx.services.documents.reembed(ctx.viewer.userId, args.collection),
      // Memories are another area: a credential without MEMORY leaves them as they are.
      memories: hasScope(ctx.viewer, 'MEMORY')
        ? await ctx.services.memory.reembed(ctx.viewer.userId, ctx.embeddingUsed)
        : 0,
      model: ctx.services.documents.embeddingModel,
    }),
  }),
  deleteDocument: t.id({
    authScopes: { documents: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const document = clientId(args.id, 'Document');
      await withClientId(document, ctx.services.documents.delete(ctx.viewer.userId, document.id));
      return document.globalId;
    },
  }),
}));
