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
      env: {},
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
    // Refused even without DATABASE_URL, where it would go unused.
    ['DATABASE_POOL_SIZE', 'abc', 'a whole number from 1 to 1000'],
    ['DATABASE_POOL_SIZE', '0', 'a whole number from 1 to 1000'],
  ])('rejects %s=%s with one line naming it', (variable, value, allowed) => {
    const attempt = () => loadConfig({ [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`Invalid configuration: ${variable}="${value}" is not allowed; expected ${allowed}.`);
  });
});

describe('the routing file named by SWITCHYARD_CONFIG', () => {
  const write = (name: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-file-'));
    const path = join(dir, name);
    writeFileSync(path, text);
    return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  };

  it('reads aliases, fallbacks, named deployments and resilience from YAML, with defaults for the rest', () => {
    const file = write(
      'switchyard.yaml',
      [
        'defaultModel: fast',
        'providers:',
        '  openai-eu: { kind: openai, baseURL: "https://eu.example.test/v1", apiKeyEnv: EU_KEY }',
        'aliases:',
        '  fast:',
        '    strategy: weighted',
        '    deployments:',
        '      - { provider: openai, model: gpt-4o-mini, weight: 3 }',
        '      - { provider: openai-eu, model: gpt-4o-mini }',
        '    fallbacks: [claude-haiku-4-5]',
        'resilience: { retry: { maxRetries: 1 } }',
      ].join('\n'),
    );
    try {
      const config = loadConfig({ SWITCHYARD_CONFIG: file.path, EU_KEY: 'sk-eu' });
      expect(config.file.aliases.fast).toEqual({
        strategy: 'weighted',
        deployments: [
          { provider: 'openai', model: 'gpt-4o-mini', weight: 3 },
          { provider: 'openai-eu', model: 'gpt-4o-mini', weight: 1 },
        ],
        fallbacks: ['claude-haiku-4-5'],
      });
      expect(config.file.resilience.retry).toMatchObject({ maxRetries: 1, maxRetryAfterMs: 30_000 });
      expect(config.file.resilience.timeouts).toEqual({
        firstTokenMs: 60_000,
        idleMs: 60_000,
        totalMs: 600_000,
        embeddingMs: 180_000,
      });
      expect(config.providerKeys).toEqual({ 'openai-eu': 'sk-eu' });
    } finally {
      file.cleanup();
    }
  });

  it.each([
    ['bad.json', '{ "aliases": ', /it is not valid JSON/],
    ['bad.yaml', 'strategy: fastest', /strategy: Invalid option/],
    ['bad.json', '{ "colour": "blue" }', /Unrecognized key/],
  ])('rejects %s (%s) with one line naming the variable', (name, text, reason) => {
    const file = write(name, text);
    try {
      expect(() => loadConfig({ SWITCHYARD_CONFIG: file.path })).toThrow(ConfigError);
      try {
        loadConfig({ SWITCHYARD_CONFIG: file.path });
      } catch (error) {
        const message = (error as Error).message;
        expect(message).toMatch(/^Invalid configuration: SWITCHYARD_CONFIG=/);
        expect(message).toMatch(reason);
        expect(message).not.toContain('\n');
      }
    } finally {
      file.cleanup();
    }
  });

  it('a missing file is named', () => {
    expect(() => loadConfig({ SWITCHYARD_CONFIG: '/nonexistent/switchyard.yaml' })).toThrow(
      /cannot read it \(ENOENT\)/,
    );
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

describe('routes that cannot be served', () => {
  it('stop start-up with one line naming the routing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-route-'));
    const file = join(dir, 'routes.json');
    writeFileSync(
      file,
      JSON.stringify({ aliases: { fast: { deployments: [{ provider: 'azure', model: 'gpt-4o' }] } } }),
    );
    try {
      const server = spawnServer({ DATA_DIR: 'memory://', PORT: '0', SWITCHYARD_CONFIG: file });
      expect(await server.exited).toBe(1);
      const lines = server.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Invalid configuration: SWITCHYARD_CONFIG=".*routes\.json".*azure/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
