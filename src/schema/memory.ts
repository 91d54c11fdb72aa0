import type { Memory } from '../generated/prisma/client.js';
import { builder } from './builder.js';
import { clientId, withClientId } from './global-id.js';

export const MemoryRef = builder.prismaNode('Memory', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    content: t.exposeString('content'),
    kind: t.exposeString('kind', { nullable: true }),
    importance: t.exposeFloat('importance'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastRecalledAt: t.expose('lastRecalledAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('memories', (t) =>
  t.prismaConnection(
    {
      type: 'Memory',
      cursor: 'id',
      authScopes: { memory: true },
      resolve: (query, _root, _args, ctx) =>
        ctx.db.memory.findMany({
          ...query,
          where: { userId: ctx.viewer.userId },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'MemoryConnection' },
    { name: 'MemoryEdge' },
  ),
);

const RememberInput = builder.inputType('RememberInput', {
  fields: (t) => ({
    content: t.string({ required: true }),
    kind: t.string(),
    importance: t.float({ description: '0..1, default 0.5.' }),
  }),
});

const MemoryHit = builder.objectRef<{ memory: Memory; score: number }>('MemoryHit').implement({
  fields: (t) => ({
    memory: t.field({ type: MemoryRef, resolve: (hit) => hit.memory }),
    score: t.exposeFloat('score'),
  }),
});

builder.queryField('recall', (t) =>
  t.field({
    type: [MemoryHit],
    authScopes: { memory: true },
    args: { query: t.arg.string({ required: true }), k: t.arg.int({ defaultValue: 5 }) },
    resolve: (_root, args, ctx) =>
      ctx.services.memory.recall(ctx.viewer.userId, args.query, args.k ?? 5, ctx.embeddingUsed),
  }),
);

builder.mutationFields((t) => ({
  remember: t.field({
    type: MemoryRef,
    authScopes: { memory: true },
    description: 'Stores a fact about the viewer; a near-duplicate updates the existing memory instead.',
    args: { input: t.arg({ type: RememberInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.memory.remember(ctx.viewer.userId, input, ctx.embeddingUsed),
  }),
  forget: t.id({
    authScopes: { memory: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const memory = clientId(args.id, 'Memory');
      await withClientId(memory, ctx.services.memory.forget(ctx.viewer.userId, memory.id));
      return memory.globalId;
    },
  }),
}));
