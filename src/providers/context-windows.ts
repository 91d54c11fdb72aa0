/** Context windows of common models whose list endpoints do not report one. Longest prefix wins. */
const known: ReadonlyArray<readonly [prefix: string, tokens: number]> = [
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
  ['claude-', 200_000],
  ['text-embedding-3', 8_191],
];

const byLength = [...known].sort((a, b) => b[0].length - a[0].length);

export function knownContextWindow(modelId: string): number | undefined {
  return byLength.find(([prefix]) => modelId.startsWith(prefix))?.[1];
}
