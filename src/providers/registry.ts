import { definitionOf } from './definitions.js';
import type { ChatProvider } from './types.js';

/**
 * Whether a provider may be used:
 * - `true`: configured (a key, or an explicit host); routes to it and probes it.
 * - `false`: known but not configured (no key); listed as UNCONFIGURED, never called.
 * - `'auto'`: listed because it might be there (Ollama at its default host): probed, and used
 *   only while the caller's `isAvailable` says so; UNCONFIGURED until it has answered once.
 */
export type ProviderConfigured = boolean | 'auto';

export interface ProviderRegistration {
  provider: ChatProvider;
  configured: ProviderConfigured;
  /** Model used when a request names this provider but no model; defaults by kind. */
  defaultModel?: string;
}

/** A bare ChatProvider counts as configured. */
export type ProviderInput = ChatProvider | ProviderRegistration;

export interface ProviderRegistry {
  readonly entries: readonly ProviderRegistration[];
  get(name: string): ProviderRegistration | undefined;
  /** The provider named like the kind (`openai`), else the first of that kind. */
  byKind(kind: string): ProviderRegistration | undefined;
  defaultModelOf(entry: ProviderRegistration): string;
}

function isRegistration(input: ProviderInput): input is ProviderRegistration {
  return 'provider' in input && typeof (input as ProviderRegistration).provider === 'object';
}

/** Normalises the provider list given to the router and the health monitor; names must be unique. */
export function createProviderRegistry(inputs: readonly ProviderInput[]): ProviderRegistry {
  const entries = inputs.map((input) => (isRegistration(input) ? input : { provider: input, configured: true }));
  const byName = new Map<string, ProviderRegistration>();
  for (const entry of entries) {
    const name = entry.provider.name;
    if (!name || name.includes('/')) throw new Error(`Provider name "${name}" must be non-empty and contain no "/"`);
    if (byName.has(name)) throw new Error(`Provider "${name}" is registered twice`);
    byName.set(name, entry);
  }
  return {
    entries,
    get: (name) => byName.get(name),
    byKind: (kind) => {
      const named = byName.get(kind);
      return named?.provider.kind === kind ? named : entries.find((e) => e.provider.kind === kind);
    },
    defaultModelOf: (entry) => entry.defaultModel ?? definitionOf(entry.provider.kind).defaultModel,
  };
}
