import { builder } from './builder.js';
import { DocumentStatusEnum } from './enums.js';
import { parseGlobalId } from './global-id.js';

export const DocumentRef = builder.prismaNode('Document', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    title: t.exposeString('title'),
    collection: t.exposeString('collection', { nullable: true }),
    mimeType: t.exposeString('mimeType'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    status: t.expose('status', { type: DocumentStatusEnum }),
    chunkCount: t.exposeInt('chunkCount'),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why indexing failed; null unless status is FAILED.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    chunks: t.relatedConnection(
      'chunks',
      { cursor: 'id', query: { orderBy: [{ ordinal: 'asc' }, { id: 'asc' }] } },
      { name: 'ChunkConnection' },
      { name: 'ChunkEdge' },
    ),
  }),
});

export const ChunkRef = builder.prismaNode('Chunk', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    ordinal: t.exposeInt('ordinal'),
    content: t.exposeString('content'),
    tokenCount: t.exposeInt('tokenCount'),
    document: t.relation('document'),
  }),
});

builder.queryFields((t) => ({
  document: t.prismaField({
    type: 'Document',
    nullable: true,
    authScopes: { documents: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.document.findFirst({
        ...query,
        where: { id: parseGlobalId(String(args.id), 'Document'), userId: ctx.viewer.userId },
      }),
  }),
  documents: t.prismaConnection(
    {
      type: 'Document',
      cursor: 'id',
      authScopes: { documents: true },
      args: { collection: t.arg.string() },
      resolve: (query, _root, args, ctx) =>
        ctx.db.document.findMany({
          ...query,
          where: { userId: ctx.viewer.userId, ...(args.collection == null ? {} : { collection: args.collection }) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'DocumentConnection' },
    { name: 'DocumentEdge' },
  ),
}));
