import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built server (dist/, as `npm start` runs it) spawned test servers run from (see spawnServer). */
    builtServer: string;
  }
}

const root = join(import.meta.dirname, '../..');
const PREFIX = 'dist.test-';

/**
 * Vitest global setup: builds dist/ when src/ changed (`scripts/build.mjs --if-stale`, as
 * `npm start` does) and hard-links it into a directory of this run's own, `dist.test-<pid>/`, which
 * servers a test spawns run from with plain node. That saves each process tsx compiling about 1,400
 * modules and PGlite's initdb plus the migrations on a new DATA_DIR (the build's template restores
 * instead). The run's own copy, because test/process-lifecycle.test.ts runs `npm run build`, which
 * swaps dist/ while other files start servers. It sits beside dist/ so that the bundle's paths
 * (`../../prisma/migrations`, node_modules) resolve as they do from dist/.
 */
export default function linkBuiltServer(project: TestProject): () => void {
  for (const name of readdirSync(root)) {
    const pid = Number.parseInt(name.slice(PREFIX.length), 10);
    if (name.startsWith(PREFIX) && !isAlive(pid)) rmSync(join(root, name), { recursive: true, force: true });
  }
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building dist/ for the spawned test servers failed: ${build.stderr}`);
  const dir = join(root, `${PREFIX}${process.pid}`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  linkTree(join(root, 'dist'), partial);
  renameSync(partial, dir);
  project.provide('builtServer', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

/** `to` as a copy of `from` whose files are hard links: instant, and unaffected when `from` is replaced. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) linkTree(join(from, entry.name), join(to, entry.name));
    else linkSync(join(from, entry.name), join(to, entry.name));
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
