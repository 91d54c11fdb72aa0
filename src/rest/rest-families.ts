import type { App } from '../app.js';
import type { Config } from '../config.js';
import { anthropicFamily } from './anthropic/index.js';
import { openAIFamily } from './openai/openai-family.js';
import type { RestFamily } from './rest-api.js';

export interface RestDeps {
  app: App;
  config: Config;
}

/** Every REST API family served beside GraphQL. */
export function restFamilies(deps: RestDeps): RestFamily[] {
  return [openAIFamily(deps.app, () => Object.keys(deps.config.file.aliases)), anthropicFamily(deps)];
}
