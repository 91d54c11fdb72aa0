import { MISSING_KEY, type ProviderDefinition } from '../definition.js';
import { openAIContextWindows } from './openai-models.js';
import { createOpenAIProvider } from './openai-provider.js';

const ownedIds = /^(gpt-|chatgpt-|o1|o3|o4|text-embedding-)/;

export const openAIDefinition: ProviderDefinition = {
  kind: 'openai',
  env: { apiKey: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL' },
  presence: 'key',
  listedWithoutKey: true,
  namedDeployments: true,
  defaultModel: 'gpt-4o-mini',
  ownsModel: (id) => ownedIds.test(id),
  temperature: { min: 0, max: 2 },
  contextWindows: openAIContextWindows,
  capabilities: { embeddings: true, tools: true, images: true, imageUrls: true, jsonObject: true, jsonSchema: true },
  create: ({ name, apiKey, baseURL }) => createOpenAIProvider({ name, apiKey: apiKey ?? MISSING_KEY, baseURL }),
};
