// `npm run bench`: runs every benchmark side by side, prints a table, writes JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchReadPath } from './read-path.js';

const requests = Number(process.argv[2] ?? 2000);
const machine = { node: process.version, arch: arch(), cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) };

const readPath = await benchReadPath(requests);
const fmt = (n: number) => n.toFixed(2).padStart(8);
console.log('read path: conversations(first: 20), embedded PGlite');
console.log('path            conc      p50 ms   p99 ms  mean ms');
for (const row of readPath) {
  const { p50, p99, mean } = row.latencyMs;
  console.log(`${row.path.padEnd(15)} ${String(row.concurrency).padStart(4)} ${fmt(p50)} ${fmt(p99)} ${fmt(mean)}`);
}

const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, 'read-path.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine, requests, rows: readPath }, null, 2)}\n`,
);
