import type { BuiltinTool } from '../chat/builtin-tools.js';
import type { Context } from '../context.js';
import { hasScope } from '../policy/viewer.js';
import { builder } from './builder.js';
import { SendMessagePayload, turnOptions } from './chat.js';
import { clientId, withClientId } from './global-id.js';
import { ToolResultInputRef } from './tool-types.js';

/** The builtin tools a continuation may run again: those the credential's scopes reach (as sendMessage checks). */
const allowedBuiltins = (ctx: Context): BuiltinTool[] => [
  ...(hasScope(ctx.viewer, 'DOCUMENTS') ? (['SEARCH_DOCUMENTS'] as const) : []),
  ...(hasScope(ctx.viewer, 'MEMORY') ? (['RECALL_MEMORY'] as const) : []),
];

builder.mutationField('submitToolResults', (t) =>
  t.field({
    type: SendMessagePayload,
    authScopes: { chat: true },
    description:
      "Answers a REQUIRES_ACTION message's tool calls and starts the next assistant message (streamed on messageStream, or use the chat subscription's continuation).",
    args: {
      messageId: t.arg.id({ required: true }),
      results: t.arg({ type: [ToolResultInputRef], required: true }),
    },
    resolve: (_root, args, ctx) => {
      const message = clientId(args.messageId, 'Message');
      return withClientId(
        message,
        ctx.services.chat.submitToolResults(ctx.viewer.userId, message.id, args.results, {
          ...turnOptions(ctx),
          allowedBuiltins: allowedBuiltins(ctx),
        }),
      );
    },
  }),
);
