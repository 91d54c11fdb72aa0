import type { ChatProvider } from '../types.js';

const openaiIds = /^(gpt-|chatgpt-|o1|o3|o4|text-embedding-)/;

/** The provider kind a bare model id belongs to, by its well-known prefix; anything else is Ollama's. */
export function inferProviderKind(modelId: string): ChatProvider['kind'] {
  const id = modelId.toLowerCase();
  if (openaiIds.test(id)) return 'openai';
  if (id.startsWith('claude-')) return 'anthropic';
  if (id === 'mock' || id.startsWith('mock-')) return 'mock';
  return 'ollama';
}
