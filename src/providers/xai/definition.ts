import { MISSING_KEY, type ProviderDefinition } from '../definition.js';
import { createOpenAIProvider } from '../openai/openai-provider.js';

/** xAI's Grok models behind its OpenAI-compatible API: a preset of the OpenAI adapter. */
const contextWindows = [
  ['grok-4', 256_000],
  ['grok-code-fast', 256_000],
  ['grok-3', 131_072],
] as const;

export const xaiDefinition: ProviderDefinition = {
  kind: 'xai',
  env: { apiKey: 'XAI_API_KEY', baseURL: 'XAI_BASE_URL' },
  presence: 'key',
  namedDeployments: true,
  defaultModel: 'grok-3-mini',
  ownsModel: (id) => id.startsWith('grok-'),
  temperature: { min: 0, max: 2 },
  contextWindows,
  capabilities: { embeddings: false, tools: true, images: true, imageUrls: true, jsonObject: true, jsonSchema: true },
  create: ({ name, apiKey, baseURL }) =>
    createOpenAIProvider({
      name,
      kind: 'xai',
      apiKey: apiKey ?? MISSING_KEY,
      baseURL: baseURL ?? 'https://api.x.ai/v1',
      contextWindows,
    }),
};
