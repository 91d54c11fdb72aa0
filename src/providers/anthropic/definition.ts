import { MISSING_KEY, type ProviderDefinition } from '../definition.js';
import { anthropicContextWindows } from './anthropic-models.js';
import { createAnthropicProvider } from './anthropic-provider.js';

export const anthropicDefinition: ProviderDefinition = {
  kind: 'anthropic',
  env: { apiKey: 'ANTHROPIC_API_KEY', baseURL: 'ANTHROPIC_BASE_URL' },
  presence: 'key',
  listedWithoutKey: true,
  namedDeployments: true,
  defaultModel: 'claude-haiku-4-5',
  ownsModel: (id) => id.startsWith('claude-'),
  temperature: { min: 0, max: 1 },
  contextWindows: anthropicContextWindows,
  capabilities: { embeddings: false, tools: true, images: true, imageUrls: true, jsonObject: true, jsonSchema: true },
  create: ({ name, apiKey, baseURL }) => createAnthropicProvider({ name, apiKey: apiKey ?? MISSING_KEY, baseURL }),
};
