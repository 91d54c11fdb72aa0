import type { ContextWindowTable } from '../definition.js';

/** OpenAI's model list reports no context windows. */
export const openAIContextWindows: ContextWindowTable = [
  ['gpt-5', 400_000],
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['gpt-4-turbo', 128_000],
  ['gpt-4', 8_192],
  ['gpt-3.5-turbo', 16_385],
  ['o1-mini', 128_000],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['text-embedding-3', 8_191],
];
