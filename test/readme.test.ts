import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configFileSchema } from '../src/config-file.js';
import { schema } from '../src/schema/index.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The fenced blocks of one language, in order. */
function blocks(language: string): string[] {
  return [...readme.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] as string);
}

describe('README', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('every YAML example of the config file is valid (no documented key is unknown, misspelt or out of range)', () => {
    // Other tools' files (a Prometheus scrape config) share the fence: a block is ours when one of
    // its top-level keys is a config-file key.
    const ours = new Set(Object.keys(configFileSchema.shape));
    const examples = blocks('yaml').filter((block) => Object.keys(parseYaml(block) ?? {}).some((key) => ours.has(key)));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      const result = configFileSchema.safeParse(parseYaml(example));
      expect({ example, issues: result.error?.issues ?? [] }).toEqual({ example, issues: [] });
    }
  });

  it('every GraphQL example is valid against the schema', () => {
    const examples = blocks('graphql');
    expect(examples.length).toBeGreaterThan(5);
    for (const example of examples) {
      expect({ example, errors: validate(schema, parse(example)).map((e) => e.message) }).toEqual({
        example,
        errors: [],
      });
    }
  });

  it('the urql snippet runs as written on this Node and streams a reply', async () => {
    const snippet = blocks('ts').find((block) => block.includes('@urql/core'));
    expect(snippet).toBeDefined();
    const origin = new URL(server.url).host;
    const source = (snippet as string).replaceAll('127.0.0.1:4000', origin);
    // Inside node_modules so that the snippet's imports resolve as in an app that installed them.
    const dir = join(root, 'node_modules/.cache/readme-snippets');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `urql-${process.pid}.mts`);
    writeFileSync(file, source);
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root });
      expect(stdout.trim()).toBe('MessageCompleted Mock reply to: Hello!');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('the remember and recall example finds the fact it stored', async () => {
    const example = blocks('graphql').find((block) => block.includes('mutation Remember')) as string;
    const remembered = await server.query<{ remember: { id: string } }>(example.replace(/query Recall[\s\S]*/, ''));
    expect(remembered.errors).toBeUndefined();
    const recalled = await server.query<{ recall: { memory: { content: string } }[] }>(
      example.replace(/mutation Remember[\s\S]*?\n}\n/, ''),
    );
    expect(recalled.data?.recall[0]?.memory.content).toBe('The on-call rotation changes every Monday at 09:00 UTC.');
  });
});
