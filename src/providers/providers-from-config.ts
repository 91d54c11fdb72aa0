import { type Config, ConfigError } from '../config.js';
import type { ProviderEntry } from '../config-file.js';
import type { ProviderDefinition } from './definition.js';
import { definitionOf, namedDeploymentKinds, providerDefinitions } from './definitions.js';
import type { ProviderRegistration } from './registry.js';

/**
 * Every provider the gateway knows, configured or not, so that `providers` lists them: for each
 * definition its deployment named like the kind, read from the definition's environment
 * variables, then the named deployments of the config file.
 */
export function providersFromConfig(config: Config): ProviderRegistration[] {
  const registrations = providerDefinitions.flatMap((definition) => fromEnvironment(definition, config));
  for (const [name, entry] of Object.entries(config.file.providers)) {
    registrations.push(namedDeployment(name, entry, config));
  }
  return registrations;
}

function fromEnvironment(definition: ProviderDefinition, config: Config): ProviderRegistration[] {
  const read = (variable: string | undefined) => {
    const value = variable ? config.env[variable]?.trim() : undefined;
    return value === '' ? undefined : value;
  };
  const apiKey = read(definition.env.apiKey);
  // Without its key a keyed deployment is never called, so its base URL is not read.
  const baseVariable = definition.presence === 'key' && !apiKey ? undefined : definition.env.baseURL;
  const baseURL = read(baseVariable);
  if (baseVariable && baseURL !== undefined && !isHttpUrl(baseURL)) {
    throw new ConfigError(baseVariable, config.env[baseVariable], 'an http(s) URL');
  }
  const options = { name: definition.kind, apiKey, baseURL, tokenDelayMs: config.mockTokenDelayMs };
  switch (definition.presence) {
    case 'key':
      if (!apiKey && !definition.listedWithoutKey) return [];
      return [{ provider: definition.create(options), configured: Boolean(apiKey) }];
    case 'detect':
      return [{ provider: definition.create(options), configured: baseURL !== undefined ? true : 'auto' }];
    case 'always':
      return [{ provider: definition.create(options), configured: true }];
  }
}

function namedDeployment(name: string, entry: ProviderEntry, config: Config): ProviderRegistration {
  if (!namedDeploymentKinds.includes(entry.kind)) {
    throw new ConfigError(
      'SWITCHYARD_CONFIG',
      config.filePath,
      `providers.${name}.kind to be one of ${namedDeploymentKinds.join(', ')}`,
    );
  }
  const definition = definitionOf(entry.kind);
  const apiKey = config.providerKeys[name];
  const provider = definition.create({ name, apiKey, baseURL: entry.baseURL, tokenDelayMs: config.mockTokenDelayMs });
  const configured = definition.presence === 'key' ? Boolean(apiKey) : true;
  return { provider, configured, defaultModel: entry.defaultModel };
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
