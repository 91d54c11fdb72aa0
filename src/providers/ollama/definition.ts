import type { ProviderDefinition } from '../definition.js';
import { createOllamaProvider } from './ollama-provider.js';

export const ollamaDefinition: ProviderDefinition = {
  kind: 'ollama',
  env: { baseURL: 'OLLAMA_HOST' },
  // Without OLLAMA_HOST it is looked for at its default address and used while it answers.
  presence: 'detect',
  namedDeployments: true,
  defaultModel: 'llama3.2',
  ownsModel: () => false,
  ownsUnclaimedModels: true,
  temperature: { min: 0, max: 2 },
  // Ollama's model details report each window.
  contextWindows: [],
  capabilities: { embeddings: true, tools: true, images: true, imageUrls: false, jsonObject: true, jsonSchema: true },
  create: ({ name, baseURL }) => createOllamaProvider({ name, host: baseURL }),
};
