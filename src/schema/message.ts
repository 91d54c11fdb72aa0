import { builder } from './builder.js';
import { MessageStatusEnum, RoleEnum } from './enums.js';
import { parseGlobalId } from './global-id.js';

interface TokenUsageShape {
  promptTokens: number;
  completionTokens: number;
}

const TokenUsage = builder.objectRef<TokenUsageShape>('TokenUsage').implement({
  fields: (t) => ({
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.int({ resolve: (usage) => usage.promptTokens + usage.completionTokens }),
  }),
});

export const MessageRef = builder.prismaNode('Message', {
  id: { field: 'id' },
  // node(id) of a row the viewer cannot see is null, not an error.
  nullable: true,
  findUnique: (id, ctx) => ({ id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    conversation: t.relation('conversation'),
    role: t.expose('role', { type: RoleEnum }),
    content: t.exposeString('content'),
    status: t.expose('status', { type: MessageStatusEnum }),
    provider: t.exposeString('provider', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    usage: t.field({
      type: TokenUsage,
      nullable: true,
      select: { promptTokens: true, completionTokens: true },
      resolve: ({ promptTokens, completionTokens }) =>
        promptTokens === null || completionTokens === null ? null : { promptTokens, completionTokens },
    }),
    costUsd: t.float({
      nullable: true,
      description:
        "USD at the price table's rates (0 for mock and local models); null when the model has no known price.",
      select: { costUsd: true },
      // A Prisma Decimal, or a string from raw SQL (turn-rows.ts): both are exact decimals in text.
      resolve: ({ costUsd }) => (costUsd === null ? null : Number(costUsd)),
    }),
    ttftMs: t.exposeFloat('ttftMs', { nullable: true, description: 'Time to first token, measured at the gateway.' }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    citations: t.relation('citations', { query: { orderBy: { ordinal: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('Citation', {
  fields: (t) => ({
    chunk: t.relation('chunk'),
    document: t.relation('document'),
    score: t.exposeFloat('score'),
  }),
});

builder.queryField('message', (t) =>
  t.prismaField({
    type: 'Message',
    nullable: true,
    authScopes: { chat: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.message.findFirst({
        ...query,
        where: { id: parseGlobalId(String(args.id), 'Message'), userId: ctx.viewer.userId },
      }),
  }),
);
