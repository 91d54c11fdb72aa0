// `BENCH_ONLY=bad-input npm run bench` (or `npx tsx bench/bad-input.ts`; BAD_INPUT_RUNS, default 20): what bad input costs the server, side by side with a normal
// query in one run. An in-process server on the embedded default; each case is sent `runs` times,
// one at a time, and `/health/live` is timed right after each (the event loop's answer to a bystander).
// Also times the tokenizer on long unbroken runs. Writes bench/results/bad-input.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { countTokens as countO200k } from 'gpt-tokenizer';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { countTokens } from '../src/util/count-tokens.js';
import { summarise } from './stats.js';

const runs = Number(process.env.BAD_INPUT_RUNS ?? 20);

function depthBomb(turns: number): string {
  let selection = 'id';
  for (let i = 0; i < turns; i++) selection = `conversation { messages { edges { node { ${selection} } } } }`;
  return `query ($id: ID!) { message(id: $id) { ${selection} } }`;
}
const messageId = Buffer.from('Message:7b0c0f3c-6a0e-4c57-9a4f-1f3b4ad0c001').toString('base64url');
const send = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
const cases: [string, { query: string; variables?: Record<string, unknown> }][] = [
  ['normal: { health { status } }', { query: '{ health { status } }' }],
  ['depth bomb, 100 turns (~4 KB)', { query: depthBomb(100), variables: { id: messageId } }],
  [
    '10,000 aliases of health',
    { query: `{ ${Array.from({ length: 10_000 }, (_, i) => `h${i}: health { status }`).join(' ')} }` },
  ],
  [
    '16 aliases of health',
    { query: `{ ${Array.from({ length: 16 }, (_, i) => `h${i}: health { status }`).join(' ')} }` },
  ],
  [
    'sendMessage, 99,000 "A"s (counted, over the window)',
    { query: send, variables: { input: { content: 'A'.repeat(99_000) } } },
  ],
  [
    'sendMessage, 300 KB one-word systemPrompt (refused by size)',
    { query: send, variables: { input: { content: 'hi', systemPrompt: 'x'.repeat(300_000) } } },
  ],
  ['conversations(first: 100000)', { query: '{ conversations(first: 100000) { edges { cursor } } }' }],
];

const config = loadConfig({ PORT: '0', DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
const server = await createServer(config, createLogger('silent'));
await server.ready;
const live = new URL('/health/live', server.url);
const rows = [];
try {
  for (const [label, body] of cases) {
    const request: number[] = [];
    const bystander: number[] = [];
    let code: unknown;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as { errors?: { extensions?: { code?: string; limit?: string } }[] };
      request.push(performance.now() - started);
      code = json.errors?.[0]?.extensions?.limit ?? json.errors?.[0]?.extensions?.code ?? 'answered';
      const probe = performance.now();
      await (await fetch(live)).text();
      bystander.push(performance.now() - probe);
    }
    rows.push({ case: label, outcome: code, requestMs: summarise(request), liveAfterMs: summarise(bystander) });
  }
} finally {
  await server.close();
}

const words: [string, string][] = [
  ['99,000 "A"s', 'A'.repeat(99_000)],
  [
    '100 KB of one varied word',
    Array.from({ length: 102_400 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join(''),
  ],
  ['300 KB one word', 'x'.repeat(300_000)],
  ['100 KB of prose', 'The quick brown fox jumps over the lazy dog. '.repeat(2_276)],
];
// gpt-tokenizer's own count, for the quadratic it has on one long piece (8 KB: already slow)
const direct = (text: string) => countO200k(text, { disallowedSpecial: new Set() });
const timed = (count: (text: string) => number, label: string, text: string) => {
  const times: number[] = [];
  let tokens = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    tokens = count(text);
    times.push(performance.now() - started);
  }
  // the first run is cold; later ones find gpt-tokenizer's cache of pieces warm
  return { text: label, chars: text.length, tokens, firstMs: times[0] as number, ms: summarise(times) };
};
const tokenizer = [
  ...words.map(([label, text]) => timed(countTokens, label, text)),
  timed(direct, 'gpt-tokenizer directly, 8,000 "b"s', 'b'.repeat(8_000)),
  timed(countTokens, 'countTokens, 8,000 "b"s', 'b'.repeat(8_000)),
];

const f = (n: number) => n.toFixed(1).padStart(8);
console.log(`bad input, ${runs} runs each: request and /health/live right after (ms)`);
console.log(`${'case'.padEnd(60)} ${'outcome'.padEnd(16)} req p50  req p99 live p50 live p99`);
for (const r of rows) {
  console.log(
    `${r.case.padEnd(60)} ${String(r.outcome).padEnd(16)}${f(r.requestMs.p50)} ${f(r.requestMs.p99)}${f(r.liveAfterMs.p50)} ${f(r.liveAfterMs.p99)}`,
  );
}
console.log('\ntokenizer (countTokens), 5 runs each');
for (const t of tokenizer) {
  const line = `${t.text.padEnd(36)} ${String(t.tokens).padStart(7)} tokens`;
  console.log(`${line} ${f(t.firstMs)} ms first ${f(t.ms.p50)} ms p50`);
}

const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const machine = { node: process.version, cpus: cpus().length, loadAverage: loadavg() };
writeFileSync(
  join(dir, 'bad-input.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine, runs, rows, tokenizer }, null, 2)}\n`,
);
