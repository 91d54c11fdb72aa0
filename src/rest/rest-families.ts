import type { App } from '../app.js';
import type { Config } from '../config.js';
import { anthropicFamily } from './anthropic/index.js';
import { openAIFamily } from './openai/openai-family.js';
import type { RestFamily } from './rest-api.js';

export interface RestDeps {
  app: App;
  config: Config;
}

/**
 * Every REST API family served beside GraphQL, the first that owns a path answering it. OpenAI's
 * comes last and owns the rest of `/v1/`: a path no family serves is a 404 in OpenAI's shape,
 * which is what most clients of a `/v1` base URL parse.
 */
export function restFamilies(deps: RestDeps): RestFamily[] {
  return [anthropicFamily(deps), openAIFamily(deps.app, () => Object.keys(deps.config.file.aliases))];
}
