import type { PiiMode } from '../privacy/pii-modes.js';
import { builder } from './builder.js';
import { withClientId } from './global-id.js';
import { userOrKey } from './user-or-key.js';

export const PiiModeEnum = builder.enumType('PiiMode', {
  description:
    'What the gateway does with personal data and secrets in prompts; the strictest of the config file, the user and the key applies.',
  values: {
    OFF: { value: 'off', description: 'Nothing.' },
    LOGS: {
      value: 'logs',
      description: 'Prompts go upstream as written; logs, traces and usage rows never hold detected values.',
    },
    MASK: {
      value: 'mask',
      description: 'Detected values go upstream as placeholders ([EMAIL_1]) and are restored in the reply.',
    },
    BLOCK: { value: 'block', description: 'A prompt holding any is refused with PII_DETECTED.' },
  } as const,
});

builder.mutationField('setPiiMode', (t) =>
  t.field({
    type: PiiModeEnum,
    nullable: true,
    authScopes: { admin: true },
    description:
      'ADMIN scope. Sets the privacy mode of one user or key; null removes it. Every instance applies the change at once.',
    args: {
      userId: t.arg.id(),
      apiKeyId: t.arg.id(),
      mode: t.arg({ type: PiiModeEnum }),
    },
    resolve: async (_root, args, ctx) => {
      const { ref, kind } = userOrKey('setPiiMode', args.userId, args.apiKeyId);
      const mode: PiiMode | null = args.mode ?? null;
      const stored = await withClientId(ref, ctx.services.identity.setPiiMode({ kind, id: ref.id }, mode));
      // Cached with the limits (see UsagePolicy): every instance forgets its copy.
      await ctx.services.usage.changed(`${kind}:${ref.id}`);
      return stored;
    },
  }),
);
