import type { Limits } from '../policy/limits.js';
import { builder } from './builder.js';
import { withClientId } from './global-id.js';
import { userOrKey } from './user-or-key.js';

export const LimitsRef = builder.objectRef<Limits>('Limits').implement({
  description: 'Per minute limits are exact across instances; budgets are in USD, per UTC day and calendar month.',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true }),
    tokensPerMinute: t.exposeInt('tokensPerMinute', { nullable: true }),
    concurrentStreams: t.exposeInt('concurrentStreams', { nullable: true }),
    dailyBudgetUsd: t.exposeFloat('dailyBudgetUsd', { nullable: true }),
    monthlyBudgetUsd: t.exposeFloat('monthlyBudgetUsd', { nullable: true }),
  }),
});

/** Checked by checkLimitsInput (src/policy/limits.ts), which names the field and its range. */
export const LimitsInput = builder.inputType('LimitsInput', {
  fields: (t) => ({
    requestsPerMinute: t.int(),
    tokensPerMinute: t.int(),
    concurrentStreams: t.int(),
    dailyBudgetUsd: t.float(),
    monthlyBudgetUsd: t.float(),
  }),
});

builder.mutationField('setLimits', (t) =>
  t.field({
    type: LimitsRef,
    authScopes: { admin: true },
    description:
      'ADMIN scope. Null fields remove that limit; absent fields keep theirs. Every instance applies the change at once.',
    args: {
      userId: t.arg.id(),
      apiKeyId: t.arg.id(),
      limits: t.arg({ type: LimitsInput, required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const { ref, kind } = userOrKey('setLimits', args.userId, args.apiKeyId);
      const stored = await withClientId(ref, ctx.services.identity.setLimits({ kind, id: ref.id }, args.limits));
      // Every instance drops its cached copy (see UsagePolicy): the next request reads these.
      await ctx.services.usage.changed(`${kind}:${ref.id}`);
      return stored;
    },
  }),
);
