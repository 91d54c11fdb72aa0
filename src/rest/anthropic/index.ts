import type { App } from '../../app.js';
import type { Config } from '../../config.js';
import type { RestFamily } from '../rest-api.js';
import { writeAnthropicError } from './anthropic-errors.js';
import type { AnthropicLimits } from './anthropic-request.js';
import { messagesRoutes } from './messages-route.js';

/** Two images at the 5 MB limit and text around them; JSON.parse of more would hold the event loop too long. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Anthropic's Messages API (`/v1/messages...`), routed to any provider, with Anthropic's errors. */
export function anthropicFamily(deps: { app: App; config: Config }): RestFamily {
  const limits: AnthropicLimits = {
    maxBodyBytes: MAX_BODY_BYTES,
    maxContentChars: deps.config.file.chat.maxContentChars,
    maxSystemChars: deps.config.file.chat.maxSystemPromptChars,
  };
  return {
    owns: (path) => path === '/v1/messages' || path.startsWith('/v1/messages/'),
    routes: messagesRoutes(deps.app, limits),
    fail: (response, status, message) => writeAnthropicError(response, { status, message }),
  };
}
