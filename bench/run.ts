// `npm run bench`: runs every benchmark side by side, prints a table, writes JSON to bench/results/.
// `BENCH_ONLY=read-path`, `BENCH_ONLY=chat-ttft`, `BENCH_ONLY=rag-search` or `BENCH_ONLY=health-live` runs one of them;
// `BENCH_ONLY=cold-start` (COLD_START_RUNS=5, COLD_START_NODE=path/to/node) times start-up to ready;
// `BENCH_ONLY=bad-input` times refusals of hostile operations (it writes bad-input.json itself);
// `BENCH_ONLY=auth-overhead` (or `npm run bench -- auth`) compares chat TTFT with no credential, a key and a JWT;
// `BENCH_ONLY=policy-overhead` (or `npm run bench -- policy`) compares it with and without limits and budgets on the key,
// and bursts against a requestsPerMinute limit over two instances (BENCH_POLICY_* in bench/policy-overhead.ts).
// `BENCH_ONLY=rest` (or `npm run bench -- rest`): the REST hot path and GraphQL `chat` against Portkey, paced
// (added TTFT, gateway CPU per request, stall-free streams; BENCH_REST_* in bench/rest-bench.ts).
// `npm run bench -- observability`: metrics and OTLP tracing on against both off (BENCH_OBS_* in bench/observability.ts).
// `BENCH_ONLY=pii-mask` (or `npm run bench -- pii`): masking a 2,000-token prompt (PII_BENCH_* in bench/pii-mask.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchAuthMicro } from './auth-micro.js';
import { authSettingsFromEnv, benchAuthOverhead } from './auth-overhead.js';
import { authTable, authTargets } from './auth-report.js';
import { chatTable, chatTargets } from './chat-report.js';
import { benchChatTtft, settingsFromEnv } from './chat-ttft.js';
import { benchColdStart, coldStartSettingsFromEnv, printColdStart } from './cold-start.js';
import { benchHealthLive, healthLiveSettingsFromEnv, printHealthLive } from './health-live.js';
import { benchObservability, observabilityTable, observabilityTargets } from './observability.js';
import { benchPiiMask, piiMaskSettingsFromEnv, piiMaskTable } from './pii-mask.js';
import { benchPolicyMicro } from './policy-micro.js';
import { benchPolicyOverhead, HIGH_LIMITS, PRICES, policySettingsFromEnv } from './policy-overhead.js';
import { policyTable, policyTargets } from './policy-report.js';
import { benchRagSearch, printRagSearch } from './rag-search.js';
import { benchReadPath } from './read-path.js';
import { benchRest } from './rest-bench.js';
import { restTable, restTargets } from './rest-report.js';

const aliases: Record<string, string> = {
  auth: 'auth-overhead',
  policy: 'policy-overhead',
  rest: 'rest',
  observability: 'observability',
  pii: 'pii-mask',
};
const named = aliases[process.argv[2] ?? ''];
const requests = named ? 2000 : Number(process.argv[2] ?? 2000);
const only = named ?? process.env.BENCH_ONLY;
const machine = {
  node: process.version,
  arch: arch(),
  os: release(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
  /** Other work on the machine when the run started. */
  loadAverage: loadavg(),
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const save = (name: string, body: Record<string, unknown>) =>
  writeFileSync(join(dir, name), `${JSON.stringify({ date: new Date().toISOString(), machine, ...body }, null, 2)}\n`);

if (!only || only === 'read-path') {
  const readPath = await benchReadPath(requests);
  const fmt = (n: number) => n.toFixed(2).padStart(8);
  console.log('read path: conversations(first: 20), embedded PGlite');
  console.log('path            conc      p50 ms   p99 ms  mean ms');
  for (const row of readPath) {
    const { p50, p99, mean } = row.latencyMs;
    console.log(`${row.path.padEnd(15)} ${String(row.concurrency).padStart(4)} ${fmt(p50)} ${fmt(p99)} ${fmt(mean)}`);
  }
  save('read-path.json', { requests, rows: readPath });
}

if (!only || only === 'cold-start') {
  const cold = await benchColdStart(coldStartSettingsFromEnv(), (line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  printColdStart(cold);
  // Another node binary's results go beside, e.g. cold-start-v24.json.
  const name = cold.node === process.version ? 'cold-start.json' : `cold-start-${cold.node.split('.')[0]}.json`;
  save(name, { ...cold });
  console.log(`\nwrote ${join(dir, name)}`);
}

if (!only || only === 'chat-ttft') {
  const portkey = JSON.parse(
    readFileSync(join(import.meta.dirname, '../node_modules/@portkey-ai/gateway/package.json'), 'utf8'),
  ) as { version: string };
  const chat = await benchChatTtft(settingsFromEnv(), (line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  for (const line of chatTable(chat)) console.log(line);
  const targets = chatTargets(chat);
  console.log('');
  for (const t of targets) console.log(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
  save('chat-ttft.json', { peers: { portkeyGateway: portkey.version }, targets, ...chat });
  console.log(`\nwrote ${join(dir, 'chat-ttft.json')}`);
}

if (!only || only === 'rag-search') {
  const started = performance.now();
  const rag = await benchRagSearch();
  console.log('');
  printRagSearch(rag);
  const runSeconds = (performance.now() - started) / 1000;
  save('rag-search.json', { loadAverageAtEnd: loadavg(), runSeconds, ...rag });
  console.log(`\nwrote ${join(dir, 'rag-search.json')}`);
}

if (!only || only === 'health-live') {
  const health = await benchHealthLive(healthLiveSettingsFromEnv(), (line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  printHealthLive(health);
  save('health-live.json', health as unknown as Record<string, unknown>);
  console.log(`\nwrote ${join(dir, 'health-live.json')}`);
}

if (!only || only === 'bad-input') {
  await import('./bad-input.js');
}

if (!only || only === 'auth-overhead') {
  const micro = await benchAuthMicro();
  const auth = await benchAuthOverhead(authSettingsFromEnv(), (line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  for (const line of authTable(auth, micro)) console.log(line);
  const targets = authTargets(auth);
  console.log('');
  for (const t of targets) console.log(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
  save('auth-overhead.json', { targets, micro, ...auth });
  console.log(`\nwrote ${join(dir, 'auth-overhead.json')}`);
}

if (!only || only === 'policy-overhead') {
  const policyMicro = await benchPolicyMicro(HIGH_LIMITS, PRICES);
  const policy = await benchPolicyOverhead(policySettingsFromEnv(), (line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  for (const line of policyTable(policy, policyMicro)) console.log(line);
  const targets = policyTargets(policy);
  console.log('');
  for (const t of targets) console.log(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
  save('policy-overhead.json', { targets, micro: policyMicro, ...policy });
  console.log(`\nwrote ${join(dir, 'policy-overhead.json')}`);
}

if (only === 'observability') {
  const result = await benchObservability((line) => process.stderr.write(`  ${line}\n`));
  console.log('observability: metrics + OTLP export against both off, paced upstream');
  for (const line of observabilityTable(result)) console.log(line);
  const targets = observabilityTargets(result);
  console.log(JSON.stringify(targets));
  // Per Node major (ALS costs differ): observability-v20.json, observability-v24.json.
  const name = `observability-${process.version.split('.')[0]}.json`;
  save(name, { loadAverageAtEnd: loadavg(), targets, ...result });
  console.log(`\nwrote ${join(dir, name)}`);
}

if (!only || only === 'rest') {
  const rest = await benchRest((line) => process.stderr.write(`  ${line}\n`));
  console.log('');
  for (const line of restTable(rest)) console.log(line);
  const targets = restTargets(rest);
  console.log('');
  for (const t of targets) console.log(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
  // A run of the CPU per stream alone (BENCH_REST_TTFT=0 BENCH_REST_STALL=0) keeps the full run's file.
  const name = rest.ttft.length || rest.stall.length ? 'rest-hot-path.json' : 'rest-stream-cost.json';
  save(name, { loadAverageAtEnd: loadavg(), targets, ...rest });
  console.log(`\nwrote ${join(dir, name)}`);
}

if (!only || only === 'pii-mask') {
  const pii = await benchPiiMask(piiMaskSettingsFromEnv());
  console.log('');
  for (const line of piiMaskTable(pii)) console.log(line);
  console.log('');
  for (const t of pii.targets) console.log(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`);
  save('pii-mask.json', { loadAverageAtEnd: loadavg(), ...pii });
  console.log(`\nwrote ${join(dir, 'pii-mask.json')}`);
}
