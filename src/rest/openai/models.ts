import type { App } from '../../app.js';
import { AppError } from '../../errors.js';
import { requestIdFrom } from '../../http/request-id.js';
import type { Viewer } from '../../policy/viewer.js';
import { sendJson } from '../json-response.js';
import type { RestRequest, RestRoute } from '../rest-api.js';
import { authenticateRest } from '../rest-auth.js';
import { sendOpenAIError } from './openai-errors.js';

interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** `GET /v1/models` and `GET /v1/models/:id`: the routable models and aliases the caller's key reaches. */
export function modelsRoutes(app: App, aliases: () => readonly string[]): RestRoute[] {
  const reachable = async (request: RestRequest): Promise<OpenAIModel[]> => {
    const viewer = await authenticateRest(app.auth, request.raw, 'CHAT');
    const listed = await app.providers.router.listModels(undefined, request.signal);
    const seen = new Set<string>();
    const models: OpenAIModel[] = [];
    const add = (id: string, owner: string) => {
      if (seen.has(id) || !routable(app, viewer, id)) return;
      seen.add(id);
      models.push({ id, object: 'model', created: 0, owned_by: owner });
    };
    for (const alias of aliases()) add(alias, 'switchyard');
    for (const model of listed) add(model.id, model.provider);
    return models;
  };
  const headersOf = (request: RestRequest) => ({
    'x-request-id': requestIdFrom(request.raw.headers['x-request-id'] as string | undefined),
  });
  return [
    {
      method: 'GET',
      pattern: '/v1/models',
      async handle(request, response) {
        try {
          sendJson(response, 200, { object: 'list', data: await reachable(request) }, headersOf(request));
        } catch (error) {
          sendOpenAIError(response, error, headersOf(request));
        }
      },
    },
    {
      method: 'GET',
      pattern: '/v1/models/:id',
      async handle(request, response) {
        try {
          const id = request.params.id ?? '';
          const model = (await reachable(request)).find((m) => m.id === id);
          if (!model) {
            throw new AppError('NOT_FOUND', `The model \`${id}\` does not exist or you do not have access to it.`);
          }
          sendJson(response, 200, model, headersOf(request));
        } catch (error) {
          sendOpenAIError(response, error, headersOf(request));
        }
      },
    },
  ];
}

/** Whether a chat request for `model` would be routed for this viewer. */
function routable(app: App, viewer: Viewer, model: string): boolean {
  try {
    app.providers.router.plan({ model, allowedModels: viewer.allowedModels });
    return true;
  } catch {
    return false;
  }
}
