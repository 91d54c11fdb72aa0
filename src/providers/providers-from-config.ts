import type { Config } from '../config.js';
import type { ProviderEntry } from '../config-file.js';
import { createAnthropicProvider } from './anthropic/anthropic-provider.js';
import { createMockProvider } from './mock/index.js';
import { createOllamaProvider } from './ollama/ollama-provider.js';
import { createOpenAIProvider } from './openai/openai-provider.js';
import type { ProviderRegistration } from './registry.js';

/** Stands in for a missing key: the provider is listed as UNCONFIGURED and never called. */
const NO_KEY = 'not-configured';

/**
 * Every provider the gateway knows, configured or not, so that `providers` lists them all:
 * OpenAI and Anthropic when their key is set, Ollama when OLLAMA_HOST is set (else detected at
 * its default host), the built-in mock always, and any named deployments from the config file.
 */
export function providersFromConfig(config: Config): ProviderRegistration[] {
  const { openai, anthropic, ollama } = config.providers;
  const registrations: ProviderRegistration[] = [
    {
      provider: createOpenAIProvider({ apiKey: openai?.apiKey ?? NO_KEY, baseURL: openai?.baseURL }),
      configured: Boolean(openai),
    },
    {
      provider: createAnthropicProvider({ apiKey: anthropic?.apiKey ?? NO_KEY, baseURL: anthropic?.baseURL }),
      configured: Boolean(anthropic),
    },
    { provider: createOllamaProvider({ host: ollama.host }), configured: ollama.explicit ? true : 'auto' },
    { provider: createMockProvider({ tokenDelayMs: config.mockTokenDelayMs }), configured: true },
  ];
  for (const [name, entry] of Object.entries(config.file.providers)) {
    registrations.push(namedDeployment(name, entry, config.providerKeys[name]));
  }
  return registrations;
}

function namedDeployment(name: string, entry: ProviderEntry, apiKey: string | undefined): ProviderRegistration {
  const defaultModel = entry.defaultModel;
  switch (entry.kind) {
    case 'openai':
      return {
        provider: createOpenAIProvider({ name, apiKey: apiKey ?? NO_KEY, baseURL: entry.baseURL }),
        configured: Boolean(apiKey),
        defaultModel,
      };
    case 'anthropic':
      return {
        provider: createAnthropicProvider({ name, apiKey: apiKey ?? NO_KEY, baseURL: entry.baseURL }),
        configured: Boolean(apiKey),
        defaultModel,
      };
    case 'ollama':
      return { provider: createOllamaProvider({ name, host: entry.baseURL }), configured: true, defaultModel };
  }
}
