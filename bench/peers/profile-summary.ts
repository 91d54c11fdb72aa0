// `tsx bench/peers/profile-summary.ts <file.cpuprofile> [top]`: self time of a V8 CPU profile,
// grouped by npm package (or repository file, or Node internals), largest first.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function groupOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const local = /\/work\/main\/(.+)$/.exec(url.replace(/^file:\/\//, ''));
  return local?.[1] ?? url;
}

export function summariseProfile(path: string, top = 25): string[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    total += dt;
    const { url, functionName, lineNumber } = node.callFrame;
    const group = groupOf(url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + dt);
    const fn = `${functionName || '(anonymous)'} ${group}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
    const owner = ownerOf(node, byId, parentOf);
    owners.set(owner, (owners.get(owner) ?? 0) + dt);
  });
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) =>
          `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      );
  return [
    `total ${(total / 1000).toFixed(0)} ms sampled`,
    '-- by package',
    ...rows(groups),
    '-- by function',
    ...rows(functions),
    '-- by owner (time in Node internals and natives charged to the nearest package or file that called them)',
    ...rows(owners),
  ];
}

const unowned = new Set(['node internals', '(native)']);

/** The group of the nearest frame, this one or above, that is neither Node's own code nor native. */
function ownerOf(node: ProfileNode, byId: Map<number, ProfileNode>, parentOf: Map<number, number>): string {
  let current: ProfileNode | undefined = node;
  while (current) {
    const group = groupOf(current.callFrame.url, current.callFrame.functionName);
    if (!unowned.has(group)) return group;
    const parent = parentOf.get(current.id);
    current = parent === undefined ? undefined : byId.get(parent);
  }
  return 'node internals';
}

if (process.argv[1]?.endsWith('profile-summary.ts') && process.argv[2]) {
  for (const line of summariseProfile(process.argv[2], Number(process.argv[3] ?? 25))) console.log(line);
}
