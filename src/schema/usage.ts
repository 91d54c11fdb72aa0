import type { SqlRunner } from '../db/sql-runner.js';
import type { BudgetStatus } from '../policy/usage-policy.js';
import { hasScope } from '../policy/viewer.js';
import { USAGE_GROUPS, type UsageRow, usageReport } from '../usage/usage-report.js';
import { builder } from './builder.js';

const UsageGroupEnum = builder.enumType('UsageGroup', { values: USAGE_GROUPS });

const UsageRowRef = builder.objectRef<UsageRow>('UsageRow').implement({
  fields: (t) => ({
    day: t.exposeString('day', { nullable: true, description: 'YYYY-MM-DD (UTC) when grouped by DAY.' }),
    model: t.exposeString('model', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    // Rows are already the viewer's own (or, with ADMIN, anyone's): the key and user need no other check.
    apiKey: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      description: 'When grouped by API_KEY; null for generations made without a stored key.',
      resolve: (query, row, _args, ctx) =>
        row.apiKeyId ? ctx.db.apiKey.findUnique({ ...query, where: { id: row.apiKeyId } }) : null,
    }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'When grouped by USER.',
      resolve: (query, row, _args, ctx) =>
        row.userId ? ctx.db.user.findUnique({ ...query, where: { id: row.userId } }) : null,
    }),
    requests: t.exposeInt('requests'),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    costUsd: t.exposeFloat('costUsd', {
      nullable: true,
      description: 'Null when a model in the row has no known price.',
    }),
  }),
});

const BudgetStatusRef = builder.objectRef<BudgetStatus>('BudgetStatus').implement({
  fields: (t) => ({
    dailyLimitUsd: t.exposeFloat('dailyLimitUsd', { nullable: true }),
    dailySpentUsd: t.exposeFloat('dailySpentUsd'),
    monthlyLimitUsd: t.exposeFloat('monthlyLimitUsd', { nullable: true }),
    monthlySpentUsd: t.exposeFloat('monthlySpentUsd'),
  }),
});

builder.queryFields((t) => ({
  usage: t.field({
    type: [UsageRowRef],
    // What a user's keys spent on generations: CHAT is what spends it, ADMIN sees everyone's.
    authScopes: { $any: { chat: true, admin: true } },
    description:
      "The viewer's usage (its user's, over all of its keys); with ADMIN scope, everyone's. Over [from, to), at most 400 days; without groupBy, one row of totals. More than 10,000 rows is BAD_USER_INPUT.",
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      groupBy: t.arg({ type: [UsageGroupEnum] }),
    },
    resolve: (_root, args, ctx) => {
      const sql: SqlRunner = { query: (statement) => ctx.db.$queryRaw(statement) };
      return usageReport(sql, {
        from: args.from,
        to: args.to,
        groupBy: args.groupBy ?? [],
        userId: hasScope(ctx.viewer, 'ADMIN') ? null : ctx.viewer.userId,
      });
    },
  }),
  budget: t.field({
    type: BudgetStatusRef,
    description:
      "The viewer's key (or user) budget now. Spent amounts are settled costs in the current UTC day and month.",
    resolve: (_root, _args, ctx) => ctx.services.usage.budget(ctx.viewer),
  }),
}));
