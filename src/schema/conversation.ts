import { builder } from './builder.js';
import { parseGlobalId } from './global-id.js';

export const ConversationRef = builder.prismaNode('Conversation', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    title: t.exposeString('title', { nullable: true }),
    systemPrompt: t.exposeString('systemPrompt', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    messages: t.relatedConnection(
      'messages',
      {
        cursor: 'id',
        query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
      },
      { name: 'MessageConnection' },
      { name: 'MessageEdge' },
    ),
  }),
});

builder.queryFields((t) => ({
  conversation: t.prismaField({
    type: 'Conversation',
    nullable: true,
    authScopes: { chat: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.conversation.findFirst({
        ...query,
        where: { id: parseGlobalId(String(args.id), 'Conversation'), userId: ctx.viewer.userId },
      }),
  }),
  conversations: t.prismaConnection(
    {
      type: 'Conversation',
      cursor: 'id',
      authScopes: { chat: true },
      resolve: (query, _root, _args, ctx) =>
        ctx.db.conversation.findMany({
          ...query,
          where: { userId: ctx.viewer.userId },
          orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'ConversationConnection' },
    { name: 'ConversationEdge' },
  ),
}));
