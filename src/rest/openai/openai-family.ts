import type { App } from '../../app.js';
import { sendJson } from '../json-response.js';
import type { RestFamily } from '../rest-api.js';
import { chatCompletionsRoute } from './chat-completions.js';
import { embeddingsRoute } from './embeddings.js';
import { modelsRoutes } from './models.js';

/** OpenAI's API: chat completions, models and embeddings, with OpenAI's error shape; any other `/v1/` path is its 404. */
export function openAIFamily(app: App, aliases: () => readonly string[]): RestFamily {
  return {
    owns: (path) => path.startsWith('/v1/'),
    routes: [chatCompletionsRoute(app), ...modelsRoutes(app, aliases), embeddingsRoute(app)],
    fail(response, status, message) {
      const type = status >= 500 ? 'server_error' : 'invalid_request_error';
      sendJson(response, status, { error: { message, type, param: null, code: null } });
    },
  };
}
