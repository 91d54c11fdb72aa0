import { builder } from './builder.js';

builder.prismaNode('Memory', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.id }),
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
      resolve: (query, _root, _args, ctx) =>
        ctx.db.memory.findMany({
          ...query,
          where: { userId: ctx.viewer.id },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'MemoryConnection' },
    { name: 'MemoryEdge' },
  ),
);
