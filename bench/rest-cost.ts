import { setMaxListeners } from 'node:events';
import { Agent } from 'node:http';
import { namedProcessesCpuMs, namedProcessesCpuSince, processCpuMs } from './peers/cpu.js';
import type { RestPath, StampedUpstream } from './rest-paths.js';
import { bodyOf, checkStream } from './rest-stall.js';
import { median } from './stats.js';

// Gateway CPU per stream, by what each path adds: the same streams (tokens `gapMs` apart, like a
// model) through node-floor, Switchyard's REST call, the same call stored as a conversation turn
// (`x-switchyard-conversation: new`: rows, stream buffer, Redis), GraphQL `chat` (all that plus a
// subscription) and Portkey, at two reply lengths: the short one is mostly a stream's start, the
// difference between the two its tokens. CPU is the gateway process's (user + system, every
// thread) over the load, divided by the streams; beside it what Postgres and Redis spent meanwhile
// (every process of theirs on this machine: only the path under load uses them then). Paths take
// turns within each round, so that a change in the machine's load shows in every path alike;
// medians over the rounds.

export interface CostSettings {
  /** Reply lengths measured, in tokens. */
  tokens: number[];
  gapMs: number;
  concurrency: number;
  streams: number;
  rounds: number;
}

export const COST_DEFAULTS: CostSettings = { tokens: [4, 64], gapMs: 20, concurrency: 60, streams: 300, rounds: 3 };

export interface CostRow {
  path: string;
  tokens: number;
  /** Median over the rounds of gateway CPU ms per stream. */
  cpuMsPerStream: number;
  rounds: number[];
  /** Medians over the rounds of Postgres's and Redis's CPU ms per stream (all their processes here). */
  postgresCpuMsPerStream: number;
  redisCpuMsPerStream: number;
  postgresRounds: number[];
  redisRounds: number[];
  errors: number;
}

/** The database's and Redis's process names, as the machine's packages run them. */
const POSTGRES = 'postgres';
const REDIS = 'redis-server';

/** `streams` streams through `path`, `concurrency` at a time; returns the failed ones. */
async function load(path: RestPath, settings: CostSettings): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: settings.concurrency });
  const body = bodyOf(path);
  const signal = AbortSignal.timeout(120_000);
  setMaxListeners(settings.concurrency + 10, signal);
  let started = 0;
  let failed = 0;
  const worker = async () => {
    while (started < settings.streams) {
      started++;
      const check = await checkStream(agent, path, body, signal);
      if (check.error !== undefined) failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return failed;
}

export async function benchStreamCost(
  upstream: StampedUpstream,
  paths: RestPath[],
  settings: CostSettings,
  log: (line: string) => void,
): Promise<CostRow[]> {
  const measured = paths.filter((path) => path.child !== undefined);
  const rows = new Map<string, CostRow>();
  for (let round = 1; round <= settings.rounds; round++) {
    for (const tokens of settings.tokens) {
      await upstream.pace(tokens, settings.gapMs);
      for (const path of measured) {
        const pid = path.child?.pid ?? -1;
        const postgresBefore = namedProcessesCpuMs([POSTGRES]);
        const redisBefore = namedProcessesCpuMs([REDIS]);
        const before = processCpuMs(pid);
        const errors = await load(path, settings);
        const cpu = (processCpuMs(pid) - before) / settings.streams;
        const postgres = namedProcessesCpuSince([POSTGRES], postgresBefore) / settings.streams;
        const redis = namedProcessesCpuSince([REDIS], redisBefore) / settings.streams;
        const key = `${path.name} ${tokens}`;
        const row = rows.get(key) ?? {
          path: path.name,
          tokens,
          cpuMsPerStream: Number.NaN,
          rounds: [],
          postgresCpuMsPerStream: Number.NaN,
          redisCpuMsPerStream: Number.NaN,
          postgresRounds: [],
          redisRounds: [],
          errors: 0,
        };
        row.rounds.push(cpu);
        row.postgresRounds.push(postgres);
        row.redisRounds.push(redis);
        row.errors += errors;
        rows.set(key, row);
        log(
          `cost ${path.name} ${tokens} tokens round ${round}: ${cpu.toFixed(2)} ms CPU per stream, ` +
            `Postgres ${postgres.toFixed(2)} ms, Redis ${redis.toFixed(2)} ms, ${errors} failed`,
        );
      }
    }
  }
  return [...rows.values()].map((row) => ({
    ...row,
    cpuMsPerStream: median(row.rounds),
    postgresCpuMsPerStream: median(row.postgresRounds),
    redisCpuMsPerStream: median(row.redisRounds),
  }));
}
