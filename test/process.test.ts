import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { spawnServer } from './helpers/spawn-server.js';

describe('configuration', () => {
  it('has working defaults with no environment at all', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      database: { kind: 'pglite' },
      redisUrl: undefined,
      providers: {
        openai: undefined,
        anthropic: undefined,
        ollama: { host: 'http://127.0.0.1:11434', explicit: false },
      },
    });
    expect(config.database).toHaveProperty('dataDir', join(process.cwd(), '.data'));
  });

  it.each([
    ['PORT', 'abc', 'an integer from 0 to 65535'],
    ['PORT', '70000', 'an integer from 0 to 65535'],
    ['DATABASE_URL', 'mysql://localhost/x', 'a postgres:// URL'],
    ['REDIS_URL', 'localhost:6379', 'a redis:// or rediss:// URL'],
    ['LOG_LEVEL', 'loud', 'one of debug, info, warn, error, silent'],
    ['DATA_DIR', '/dev/null/data', 'a writable directory path or memory://'],
  ])('rejects %s=%s with one line naming it', (variable, value, allowed) => {
    const attempt = () => loadConfig({ [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`Invalid configuration: ${variable}="${value}" is not allowed; expected ${allowed}.`);
  });
});

describe('the server process', () => {
  it.each([
    ['PORT', 'not-a-port'],
    ['DATA_DIR', 'FILE'],
  ])('exits 1 with one line when %s is invalid', async (variable, value) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cfg-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    try {
      const server = spawnServer({ [variable]: value === 'FILE' ? file : value });
      expect(await server.exited).toBe(1);
      const lines = server.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable}=`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM closes WebSockets with 1001 and exits 0', async () => {
    const server = spawnServer({ PORT: '0', DATA_DIR: 'memory://' });
    const url = await server.url;
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    server.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await server.exited).toBe(0);
    await expect(fetch(new URL('/health/live', url))).rejects.toThrow();
  });
});
