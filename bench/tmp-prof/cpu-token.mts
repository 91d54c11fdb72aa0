import { processCpuMs } from '../peers/cpu.js';
import { startSwitchyard } from '../peers/gateways.js';
import { mintKey, startStampedUpstream, switchyardGraphqlPath, switchyardRestPath } from '../rest-paths.js';
import { STALL_DEFAULTS, trial } from '../rest-stall.js';

const upstream = await startStampedUpstream();
const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${upstream.url}/v1` };
const gw = await startSwitchyard(process.env.DB_URL, env);
const key = await mintKey(gw);
await upstream.pace(64, 20);
const settings = { ...STALL_DEFAULTS, trialTimeoutMs: 120_000 };
const paths = (process.env.PATHS ?? 'rest,graphql')
  .split(',')
  .map((p) => (p === 'rest' ? switchyardRestPath('rest', gw, key) : switchyardGraphqlPath('graphql', gw, key)));
const N = Number(process.env.N ?? 40);
for (const p of paths) await trial(p, 10, settings);
const res: Record<string, number[]> = {};
for (let r = 0; r < Number(process.env.R ?? 3); r++)
  for (const p of paths) {
    const c0 = processCpuMs(gw.child.pid);
    const t = await trial(p, N, settings);
    const cpu = processCpuMs(gw.child.pid) - c0;
    const per = (cpu * 1000) / (N * 64);
    (res[p.name] ??= []).push(per);
    console.log(p.name, 'cpu µs/token', per.toFixed(1), 'late p50', t.maxLateP50Ms.toFixed(1), 'errors', t.errors);
  }
for (const [k, v] of Object.entries(res))
  console.log(k, 'median µs/token', v.sort((a, b) => a - b)[v.length >> 1]?.toFixed(1));
await gw.child.stop();
await upstream.child.stop();
