import type { ProviderDefinition } from '../definition.js';
import { createMockProvider, MOCK_MODEL_PREFIX } from './mock-provider.js';

export const mockDefinition: ProviderDefinition = {
  kind: 'mock',
  env: {},
  presence: 'always',
  namedDeployments: false,
  defaultModel: `${MOCK_MODEL_PREFIX}echo`,
  ownsModel: (id) => id === 'mock' || id.startsWith(MOCK_MODEL_PREFIX),
  temperature: { min: 0, max: 2 },
  contextWindows: [],
  capabilities: { embeddings: true, tools: true, images: true, imageUrls: true, jsonObject: true, jsonSchema: true },
  create: ({ name, tokenDelayMs }) => createMockProvider({ name, tokenDelayMs }),
};
