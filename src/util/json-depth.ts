/**
 * Whether a parsed JSON value nests objects and arrays at most `max` levels deep (a scalar is 0,
 * `{}` is 1). Iterative, and it stops at the first level past `max`: safe on any input that
 * JSON.parse accepted, which JSON.stringify (recursive) may not be.
 */
export function jsonDepthWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}
