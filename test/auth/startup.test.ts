import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { type ServerProcess, spawnServer } from '../helpers/spawn-server.js';

const root = join(import.meta.dirname, '../..');
const PROCESS_TIMEOUT = 240_000;
const WAIT = 120_000;
const ADMIN_KEY = 'an-admin-key-for-the-startup-tests-0123456789';
const MEMORY_QUERY = '{ memories(first: 10) { edges { node { content } } } }';

// `npm run keys` builds dist/ first when it is stale, which says so on stderr: build it once here.
beforeAll(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-startup-'));
  dirs.push(dir);
  return join(dir, 'data');
};

/** The server's URL on loopback, however it was bound (0.0.0.0 prints itself). */
const loopbackUrl = async (server: ServerProcess) => (await server.url).replace('//0.0.0.0:', '//127.0.0.1:');

async function post(url: string, query: string, authorization?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  return { status: response.status, body, codes: body.errors?.map((error) => error.extensions?.code) };
}

/** `npm run keys` exactly as a user types it (`-s`: npm prints nothing of its own on stdout). */
async function keys(env: Record<string, string>, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', '-s', 'keys', '--', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** `promise`, or a failure naming what did not happen by the (generous) deadline. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function stop(server: ServerProcess) {
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}

describe('start-up without credentials', () => {
  it(
    'on loopback with nothing configured, says so in the log and lets anonymous requests act as the local default user',
    async () => {
      const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', LOG_LEVEL: 'info' });
      const url = await server.url;
      await eventually(server.stderr, (text) => text.includes('act as the local default user'), {
        timeoutMs: WAIT,
        what: 'the info line about the local default user',
      });
      const remembered = await post(url, 'mutation { remember(input: { content: "Anonymous on loopback" }) { id } }');
      expect(remembered).toMatchObject({ status: 200, codes: undefined });
      expect(JSON.stringify((await post(url, MEMORY_QUERY)).body.data)).toContain('Anonymous on loopback');
    },
    PROCESS_TIMEOUT,
  );

  it(
    'on 0.0.0.0 with no admin key, JWT setting or stored key, exits 1 with one line naming how to create a key',
    async () => {
      const server = spawnServer({ PORT: '0', HOST: '0.0.0.0', DATA_DIR: 'memory://' });
      expect(await server.exited).toBe(1);
      const lines = server.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('SWITCHYARD_ADMIN_KEY');
      expect(lines[0]).toContain('npm run keys -- create --name admin --admin');
      expect(server.stdout()).not.toContain('running at');
    },
    PROCESS_TIMEOUT,
  );

  it(
    'on 0.0.0.0 with SWITCHYARD_ADMIN_KEY, starts; anonymous gets HTTP 401 UNAUTHENTICATED and the admin key works',
    async () => {
      const server = spawnServer({
        PORT: '0',
        HOST: '0.0.0.0',
        DATA_DIR: 'memory://',
        SWITCHYARD_ADMIN_KEY: ADMIN_KEY,
        LOG_LEVEL: 'info',
      });
      const url = await loopbackUrl(server);
      expect(await post(url, MEMORY_QUERY)).toMatchObject({ status: 401, codes: ['UNAUTHENTICATED'] });
      expect(await post(url, MEMORY_QUERY, 'Bearer not-the-admin-key')).toMatchObject({
        status: 401,
        codes: ['UNAUTHENTICATED'],
      });
      expect(await post(url, MEMORY_QUERY, `Bearer ${ADMIN_KEY}`)).toMatchObject({ status: 200, codes: undefined });
      expect(server.stderr()).not.toContain('local default user');
    },
    PROCESS_TIMEOUT,
  );
});

describe('npm run keys on the embedded database', () => {
  it(
    'refuses while a server holds DATA_DIR; once stopped, makes a key after which the loopback default is off and the earlier data is the key`s',
    async () => {
      const dataDir = tempDir();
      const env = { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir };

      // Zero-config first: what is made anonymously belongs to the local default user.
      const first = spawnServer(env);
      const firstUrl = await first.url;
      await eventually(
        () => post(firstUrl, 'mutation { remember(input: { content: "Made before any key" }) { id } }'),
        (result) => result.status === 200 && result.codes === undefined,
        { timeoutMs: WAIT, what: 'remember to succeed anonymously' },
      );

      // The running server holds the directory: the command refuses in one line and touches nothing.
      const refused = await keys({ DATA_DIR: dataDir }, ['create', '--name', 'laptop']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toContain('is open in a running server: stop it and run this again');
      expect(refused.stderr).toContain('createApiKey');
      // Its shell has no PORT: the server's own port is not known, and the line says so.
      expect(refused.stderr).toContain('http://127.0.0.1:4000/graphql unless it was started with another PORT or HOST');
      expect(readFileSync(join(dataDir, 'switchyard.pid'), 'utf8')).toMatch(new RegExp(`^${first.child.pid}\\n`));
      expect((await post(firstUrl, MEMORY_QUERY)).body.data).toBeDefined();
      await stop(first);

      const created = await keys({ DATA_DIR: dataDir }, ['create', '--name', 'laptop']);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(/^sk-sy-[0-9A-Za-z]{40}\n$/);
      expect(created.stderr).toContain('Created key "laptop"');
      expect(created.stderr).toContain('the local default user');
      const key = created.stdout.trim();

      const second = spawnServer({ ...env, LOG_LEVEL: 'info' });
      const secondUrl = await second.url;
      expect(await post(secondUrl, MEMORY_QUERY)).toMatchObject({ status: 401, codes: ['UNAUTHENTICATED'] });
      const withKey = await post(secondUrl, MEMORY_QUERY, `Bearer ${key}`);
      expect(withKey).toMatchObject({ status: 200, codes: undefined });
      expect(JSON.stringify(withKey.body.data)).toContain('Made before any key');
      expect(second.stderr()).not.toContain('act as the local default user');
      await stop(second);

      // Revoked by its shown prefix: the next start refuses it.
      const prefix = key.slice(0, 12);
      const revoked = await keys({ DATA_DIR: dataDir }, ['revoke', prefix]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stderr).toContain(`Revoked key "laptop" (${prefix}`);
      const listed = await keys({ DATA_DIR: dataDir }, ['list']);
      expect(listed.stdout).toMatch(
        new RegExp(`${prefix}\\s+laptop\\s+\\(local default\\)\\s+CHAT,DOCUMENTS,MEMORY\\s+any\\s+never\\s+revoked`),
      );
      const third = spawnServer(env);
      expect(await post(await third.url, MEMORY_QUERY, `Bearer ${key}`)).toMatchObject({
        status: 401,
        codes: ['UNAUTHENTICATED'],
      });
    },
    PROCESS_TIMEOUT,
  );

  it(
    'answers a malformed command line with exit 2 and the usage, and a bad value with exit 1 in one line',
    async () => {
      const env = { DATA_DIR: tempDir() };
      const usage = await keys(env, ['create', '--admin']);
      expect(usage).toMatchObject({ code: 2, stdout: '' });
      expect(usage.stderr).toContain('create needs --name NAME');
      expect(usage.stderr).toContain('Usage: npm run keys -- <command>');
      expect(await keys(env, ['rotate'])).toMatchObject({ code: 2 });
      expect(await keys(env, ['create', '--name', 'x', '--colour', 'red'])).toMatchObject({ code: 2 });

      for (const [args, message] of [
        [['create', '--name', 'x', '--scopes', 'CHAT,EVERYTHING'], 'unknown scope "EVERYTHING"'],
        [['create', '--name', 'x', '--expires', 'soon'], '--expires "soon" is not a date'],
        [['create', '--name', 'x', '--expires', '2001-01-01'], 'expiresAt must be in the future'],
        [['create', '--name', 'x'.repeat(101)], 'a key name is 1 to 100 characters'],
        [['revoke', 'sk-sy-nothere'], 'no key has the id or prefix sk-sy-nothere'],
      ] as const) {
        const result = await keys(env, [...args]);
        expect({ args, code: result.code, stdout: result.stdout, lines: result.stderr.trim().split('\n') }).toEqual({
          args,
          code: 1,
          stdout: '',
          lines: [expect.stringContaining(message)],
        });
      }
      expect(await keys({ DATA_DIR: 'memory://' }, ['list'])).toMatchObject({ code: 1 });
    },
    PROCESS_TIMEOUT,
  );
});

describe.skipIf(!postgresUrl)('npm run keys on Postgres', () => {
  it(
    'a key made while a loopback server runs turns its local default off at once; revoking it closes its socket with 4403',
    async () => {
      const database = await createScratchDatabase(postgresUrl as string);
      try {
        const env = { DATABASE_URL: database.url, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
        const server = spawnServer({ PORT: '0', HOST: '127.0.0.1', ...env });
        const url = await server.url;
        await eventually(
          () => post(url, MEMORY_QUERY),
          (result) => result.status === 200,
          { timeoutMs: WAIT, what: 'the loopback default to answer anonymously' },
        );

        const created = await keys(env, [
          'create',
          '--name',
          'ci',
          '--user',
          'ci-bot',
          '--scopes',
          'memory',
          '--admin',
        ]);
        expect(created.code, created.stderr).toBe(0);
        expect(created.stderr).toContain('for ci-bot: scopes MEMORY ADMIN');
        const key = created.stdout.trim();
        await eventually(
          () => post(url, MEMORY_QUERY),
          (result) => result.status === 401,
          { timeoutMs: WAIT, what: 'anonymous requests refused once a key exists' },
        );
        expect(await post(url, MEMORY_QUERY, `Bearer ${key}`)).toMatchObject({ status: 200, codes: undefined });
        if (!redisUrl) return;

        let connected!: () => void;
        const ready = new Promise<void>((resolve) => {
          connected = resolve;
        });
        const closed = new Promise<number>((resolve) => {
          createClient({
            url: url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            onNonLazyError: () => {}, // the close is what this test waits for
            connectionParams: { authorization: `Bearer ${key}` },
            on: { connected, closed: (event) => resolve((event as { code: number }).code) },
          });
        });
        await ready;
        const revoked = await keys(env, ['revoke', key]);
        expect(revoked.code, revoked.stderr).toBe(0);
        expect(revoked.stderr).toMatch(/Told [1-9]\d* running servers? through Redis/);
        expect(await within(closed, WAIT, 'the socket signed in with the key to close')).toBe(4403);
        expect(await post(url, MEMORY_QUERY, `Bearer ${key}`)).toMatchObject({
          status: 401,
          codes: ['UNAUTHENTICATED'],
        });
        await stop(server);
      } finally {
        await database.drop();
      }
    },
    PROCESS_TIMEOUT,
  );
});
