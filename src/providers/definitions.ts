import { anthropicDefinition } from './anthropic/definition.js';
import { contextWindowLookup, type ProviderDefinition } from './definition.js';
import { mockDefinition } from './mock/definition.js';
import { ollamaDefinition } from './ollama/definition.js';
import { openAIDefinition } from './openai/definition.js';
import { xaiDefinition } from './xai/definition.js';

/** Every provider kind the gateway knows, in the order `providers` lists them. */
export const providerDefinitions: readonly ProviderDefinition[] = [
  openAIDefinition,
  anthropicDefinition,
  ollamaDefinition,
  mockDefinition,
  xaiDefinition,
];

const byKind = new Map(providerDefinitions.map((d) => [d.kind, d]));

/** The definition of a registered provider's kind; throws for a kind no definition has. */
export function definitionOf(kind: string): ProviderDefinition {
  const definition = byKind.get(kind);
  if (!definition) throw new Error(`No provider definition for kind "${kind}"`);
  return definition;
}

/** Kinds a config file's named deployment may have. */
export const namedDeploymentKinds = providerDefinitions.filter((d) => d.namedDeployments).map((d) => d.kind);

/** The kind a bare model id belongs to: the one that owns its prefix, else the one taking the rest. */
export function inferProviderKind(modelId: string): string {
  const id = modelId.toLowerCase();
  const owner =
    providerDefinitions.find((d) => d.ownsModel(id)) ?? providerDefinitions.find((d) => d.ownsUnclaimedModels);
  if (!owner) throw new Error(`No provider kind owns model "${modelId}"`);
  return owner.kind;
}

/** A model's window from its kind's table. */
export function knownContextWindow(kind: string, modelId: string): number | undefined {
  return windowLookups.get(kind)?.(modelId);
}

const windowLookups = new Map(providerDefinitions.map((d) => [d.kind, contextWindowLookup(d.contextWindows)]));
