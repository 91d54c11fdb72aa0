import type { ChatProvider } from './types.js';

/** `[model id prefix, tokens]`: the longest matching prefix wins. */
export type ContextWindowTable = ReadonlyArray<readonly [prefix: string, tokens: number]>;

/** What a definition's `create` is given: plain values, never the environment. */
export interface ProviderCreateOptions {
  /** The registered name: the kind itself, or a named deployment from the config file. */
  name: string;
  /** From the definition's key variable, or the variable a named deployment names. */
  apiKey: string | undefined;
  /** From the definition's base URL variable, or a named deployment's `baseURL`. */
  baseURL: string | undefined;
  /** Pause per token of the built-in mock (MOCK_TOKEN_DELAY_MS). */
  tokenDelayMs: number;
}

/**
 * Everything the gateway knows about one provider kind. One list of these (definitions.ts) drives
 * the registry's default models, inference from a model id, temperature checks, context windows,
 * the deployments read from the environment and the config file, and the factory.
 */
export interface ProviderDefinition {
  readonly kind: string;
  /**
   * Environment variables of the deployment named like the kind. With `apiKey` it is configured
   * when the key is set; without, see `presence`.
   */
  readonly env: { readonly apiKey?: string; readonly baseURL?: string };
  /**
   * How the deployment named like the kind is registered: `key` when its key is set (else listed
   * UNCONFIGURED if `listedWithoutKey`, else left out); `detect` configured when its base URL
   * variable is set, else probed at the default address ('auto'); `always` registered as is.
   */
  readonly presence: 'key' | 'detect' | 'always';
  readonly listedWithoutKey?: boolean;
  /** May name the `kind` of a deployment in the config file's `providers` section. */
  readonly namedDeployments: boolean;
  /** Used when a request names this provider but no model. */
  readonly defaultModel: string;
  /** Whether a bare model id belongs to this kind (inference from the id's prefix). */
  ownsModel(modelId: string): boolean;
  /** Takes the ids no other kind owns (Ollama: any local model name). At most one kind sets it. */
  readonly ownsUnclaimedModels?: boolean;
  /** Sampling temperatures it accepts, inclusive. */
  readonly temperature: { readonly min: number; readonly max: number };
  /** Windows of models whose list endpoint reports none. */
  readonly contextWindows: ContextWindowTable;
  readonly capabilities: Capabilities;
  create(options: ProviderCreateOptions): ChatProvider;
}

/**
 * What a kind's chat can do. `jsonSchema`: a reply held to a JSON Schema (natively, or by a forced
 * tool); `jsonObject`: a reply that is some JSON object. A request needing what a deployment lacks
 * is not sent there (the router drops it from the plan; none left is BAD_USER_INPUT).
 */
export interface Capabilities {
  readonly embeddings: boolean;
  readonly tools: boolean;
  readonly images: boolean;
  /** Images given by a remote URL (the gateway never fetches one itself); without it, data: URLs only. */
  readonly imageUrls: boolean;
  readonly jsonObject: boolean;
  readonly jsonSchema: boolean;
}

/** The lookup a context-window table describes. */
export function contextWindowLookup(table: ContextWindowTable): (modelId: string) => number | undefined {
  const byLength = [...table].sort((a, b) => b[0].length - a[0].length);
  return (modelId) => byLength.find(([prefix]) => modelId.startsWith(prefix))?.[1];
}

/** Stands in for a missing key: such a deployment is listed as UNCONFIGURED and never called. */
export const MISSING_KEY = 'not-configured';
