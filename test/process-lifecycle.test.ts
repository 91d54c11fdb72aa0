import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { eventually } from './helpers/eventually.js';
import { type ServerProcess, spawnServer } from './helpers/spawn-server.js';

const root = join(import.meta.dirname, '..');
const PROCESS_TIMEOUT = 180_000;
const WAIT = 120_000;

// Every process a test starts is stopped after it, even when the test failed or timed out.
const started: ServerProcess[] = [];
const start = (...args: Parameters<typeof spawnServer>) => {
  const server = spawnServer(...args);
  started.push(server);
  return server;
};
const orphans = new Set<number>();
afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await server.exited;
  }
  for (const pid of orphans) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  orphans.clear();
});

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-life-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids started by `pid`, its children's children included (Linux /proc). */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const [child, parent] of parents) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function commandOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

const answers = (url: string) =>
  fetch(new URL('/health/live', url)).then(
    () => true,
    () => false,
  );

describe('one process per embedded data directory', () => {
  it(
    'a second process on the same DATA_DIR exits 1 at once with one line naming the directory and the holder',
    async () => {
      const dataDir = tempDir();
      const first = start({ PORT: '0', DATA_DIR: dataDir });
      const url = await first.url;

      const second = start({ PORT: '0', DATA_DIR: dataDir });
      expect(await second.exited).toBe(1);
      const lines = second.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`DATA_DIR="${dataDir}"`);
      expect(lines[0]).toContain(`process ${first.child.pid} has it open`);
      // The holder is untouched and keeps serving.
      expect((await fetch(new URL('/health/ready', url))).status).toBe(200);

      // Once the holder has stopped, the directory is free again.
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const third = start({ PORT: '0', DATA_DIR: dataDir });
      expect((await fetch(new URL('/health/ready', await third.url))).status).toBe(200);
    },
    PROCESS_TIMEOUT,
  );

  it(
    'a lock left by a killed process is taken over',
    async () => {
      const dataDir = tempDir();
      const first = start({ PORT: '0', DATA_DIR: dataDir });
      await first.url;
      first.child.kill('SIGKILL');
      await first.exited;
      expect(readFileSync(join(dataDir, 'switchyard.pid'), 'utf8')).toMatch(new RegExp(`^${first.child.pid}\\n`));

      const second = start({ PORT: '0', DATA_DIR: dataDir });
      expect((await fetch(new URL('/health/ready', await second.url))).status).toBe(200);
      expect(readFileSync(join(dataDir, 'switchyard.pid'), 'utf8')).toMatch(new RegExp(`^${second.child.pid}\\n`));
    },
    PROCESS_TIMEOUT,
  );
});

describe('start-up', () => {
  it(
    'loads the tokenizer before it reports ready, so the first chat does not stall the event loop for it',
    async () => {
      // Marks, on stdout, the moment the server's code first asks for gpt-tokenizer.
      const preload = join(tempDir(), 'mark-tokenizer.cjs');
      writeFileSync(
        preload,
        [
          "const Module = require('node:module');",
          'const load = Module._load;',
          'let marked = false;',
          'Module._load = function (request, ...rest) {',
          "  if (request === 'gpt-tokenizer' && !marked) { marked = true; process.stdout.write('tokenizer requested\\n'); }",
          '  return load.call(this, request, ...rest);',
          '};',
        ].join('\n'),
      );
      const server = start({ PORT: '0', DATA_DIR: 'memory://' }, [
        process.execPath,
        '--require',
        preload,
        join(inject('builtServer'), 'main.js'),
      ]);
      await server.url;
      const out = server.stdout();
      expect(out).toContain('tokenizer requested');
      expect(out.indexOf('tokenizer requested')).toBeLessThan(out.indexOf('running at'));
    },
    PROCESS_TIMEOUT,
  );
});

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the npm process stops the server: the port goes quiet and no node process is left',
    async (signal) => {
      const npm = start({ PORT: '0', DATA_DIR: 'memory://', HOME: tmpdir() }, ['npm', 'start']);
      const url = await npm.url;
      // The server, however npm started it (sh -c, or sh exec'ing node), is found among npm's descendants.
      const descendants = descendantsOf(npm.child.pid as number);
      for (const pid of descendants) orphans.add(pid);
      // Plain node runs the compiled server: no tsx, no loader.
      expect(descendants.filter((pid) => commandOf(pid).join(' ') === 'node dist/main.js')).toHaveLength(1);

      npm.child.kill(signal);
      await npm.exited;
      const alive = await eventually(
        () => descendants.filter(isAlive),
        (pids) => pids.length === 0,
        { timeoutMs: WAIT, what: `npm's processes (${descendants.join(', ')}) to exit` },
      );
      expect(alive).toEqual([]);
      expect(await answers(url)).toBe(false);
    },
    PROCESS_TIMEOUT,
  );
});

describe('npm run build', () => {
  it(
    'bundles the server and every worker entry into dist/, and the output runs with plain node',
    async () => {
      const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
      const src = join(root, 'src');
      const files = readdirSync(src, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && !entry.name.endsWith('.d.ts'))
        .map((entry) => relative(src, join(entry.parentPath, entry.name)));
      // Threads load their entries by path (`workerFile(import.meta.url, name)`, beside the caller),
      // and non-TypeScript files are copied: all must be there.
      const workers = files.flatMap((file) =>
        [...readFileSync(join(src, file), 'utf8').matchAll(/workerFile\(import\.meta\.url, '([\w-]+)'\)/g)].map(
          (match) => join(dirname(file), `${match[1]}.js`),
        ),
      );
      expect(workers.length).toBeGreaterThan(1);
      const missing = ['main.js', ...workers, ...files.filter((file) => !file.endsWith('.ts'))]
        .map((file) => join('dist', file))
        .filter((file) => !existsSync(join(root, file)));
      expect(missing).toEqual([]);

      const server = start({ PORT: '0', DATA_DIR: 'memory://' }, [process.execPath, 'dist/main.js']);
      const url = await server.url;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ health { status database { status } } }' }),
      });
      expect(await response.json()).toMatchObject({ data: { health: { database: { status: 'ok' } } } });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    },
    PROCESS_TIMEOUT,
  );
  it(
    'on the built server a new DATA_DIR starts from a template holding every migration, and keeps its data on restart',
    async () => {
      const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
      const dataDir = join(tempDir(), 'data');
      const graphql = async (url: string, query: string) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        });
        return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
      };
      const readyAt = (url: string) =>
        eventually(
          () => fetch(new URL('/health/ready', url)).then((r) => r.status),
          (status) => status === 200,
          { what: '/health/ready answering 200', timeoutMs: WAIT },
        );

      const first = start({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' }, [process.execPath, 'dist/main.js']);
      const firstUrl = await first.url;
      await readyAt(firstUrl);
      // Nothing was left to apply: the template holds every migration.
      expect(first.stderr()).not.toContain('migration applied');
      const remembered = await graphql(
        firstUrl,
        'mutation { remember(input: { content: "The template keeps me" }) { id } }',
      );
      expect(remembered.errors).toBeUndefined();
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      const second = start({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' }, [process.execPath, 'dist/main.js']);
      const secondUrl = await second.url;
      await readyAt(secondUrl);
      expect(second.stderr()).not.toContain('migration applied');
      const recalled = await graphql(secondUrl, '{ memories(first: 5) { edges { node { content } } } }');
      expect(JSON.stringify(recalled.data)).toContain('The template keeps me');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
    PROCESS_TIMEOUT,
  );
});
