import type { App } from '../../app.js';
import { sendJson } from '../json-response.js';
import type { RestFamily } from '../rest-api.js';
import { chatCompletionsRoute } from './chat-completions.js';
import { embeddingsRoute } from './embeddings.js';
import { modelsRoutes } from './models.js';

const OWNED = ['/v1/chat/', '/v1/models', '/v1/embeddings', '/v1/completions'];

/** OpenAI's API: chat completions, models and embeddings, with OpenAI's error shape. */
export function openAIFamily(app: App, aliases: () => readonly string[]): RestFamily {
  return {
    owns: (path) => OWNED.some((prefix) => path === prefix || path.startsWith(prefix)),
    routes: [chatCompletionsRoute(app), ...modelsRoutes(app, aliases), embeddingsRoute(app)],
    fail(response, status, message) {
      const type = status >= 500 ? 'server_error' : 'invalid_request_error';
      sendJson(response, status, { error: { message, type, param: null, code: null } });
    },
  };
}
