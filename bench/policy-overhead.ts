import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import type { LoadOptions } from './chat-load.js';
import { type FakeUpstream, type Gateway, startFakeUpstream, startSwitchyard } from './peers/gateways.js';
import { createScratchDatabase } from './peers/scratch-db.js';
import { ADMIN_KEY, type BurstRow, budgetOf, burst, createKey, MODEL } from './policy-burst.js';
import {
  echoPrompt,
  type Level,
  type PhaseRow,
  pathOf,
  runRounds,
  type SideServer,
  type SummaryRow,
  summariseRounds,
  type Transport,
} from './side-by-side.js';
import { integerLevels } from './stats.js';

/** The same kind of stored key, without limits and with every limit and both budgets set. */
export const VARIANTS = ['none', 'limits'] as const;
export type PolicyVariant = (typeof VARIANTS)[number];
/** Postgres + Redis (two instances sharing both), or the embedded database with in-process counters. */
export type Deployment = 'postgres+redis' | 'embedded';

export interface PolicyBenchSettings {
  /**
   * On Postgres + Redis: chats in flight and chats in all (both variants': at 1 they take turns,
   * above each gateway has half), and ms between upstream tokens (none: instant).
   */
  levels: Level[];
  /** The same for the embedded variant (no Redis, PGlite in memory). */
  embeddedLevels: Level[];
  transports: Transport[];
  /** Every level runs once per round; the order of the two and which gateway has which key rotate. */
  rounds: number;
  replyTokens: number;
  /** requestsPerMinute limits to burst against, each with `burstRequests` at once over two instances. */
  bursts: number[];
  burstRequests: number;
  load: LoadOptions;
}

export const DEFAULT_POLICY_SETTINGS: PolicyBenchSettings = {
  levels: [
    { concurrency: 1, requests: 400 },
    { concurrency: 100, requests: 600 },
    { concurrency: 100, requests: 600, tokenDelayMs: 20 },
  ],
  embeddedLevels: [{ concurrency: 1, requests: 400 }],
  transports: ['sse'],
  rounds: 4,
  replyTokens: 8,
  bursts: [100, 500],
  burstRequests: 1_000,
  load: { requestTimeoutMs: 30_000, phaseTimeoutMs: 120_000 },
};

const levelsOf = (list: string | undefined) =>
  (integerLevels(list, 3) as [number, number, number][] | undefined)?.map(
    ([concurrency, requests, tokenDelayMs]): Level =>
      tokenDelayMs ? { concurrency, requests, tokenDelayMs } : { concurrency, requests },
  );

/**
 * `BENCH_POLICY_ROUNDS=4 BENCH_POLICY_LEVELS=1:400:0,100:600:0,100:600:20 BENCH_POLICY_EMBEDDED=1:400:0
 * BENCH_POLICY_BURSTS=100,500 BENCH_POLICY_BURST_REQUESTS=1000` (levels are concurrency:requests, both in
 * all, :ms between upstream tokens, 0 for none; an empty list skips that part). Paced at concurrency 1
 * (e.g. 1:60:20) measures what instant does plus the fake's timer: nothing else runs meanwhile.
 */
export function policySettingsFromEnv(env: Record<string, string | undefined> = process.env): PolicyBenchSettings {
  const d = DEFAULT_POLICY_SETTINGS;
  const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
  return {
    ...d,
    levels: levelsOf(env.BENCH_POLICY_LEVELS) ?? d.levels,
    embeddedLevels: levelsOf(env.BENCH_POLICY_EMBEDDED) ?? d.embeddedLevels,
    transports: (env.BENCH_POLICY_TRANSPORTS?.split(',').filter(Boolean) as Transport[] | undefined) ?? d.transports,
    rounds: number(env.BENCH_POLICY_ROUNDS, d.rounds),
    bursts: env.BENCH_POLICY_BURSTS?.split(',').filter(Boolean).map(Number) ?? d.bursts,
    burstRequests: number(env.BENCH_POLICY_BURST_REQUESTS, d.burstRequests),
  };
}

export type PolicyPhaseRow = PhaseRow<PolicyVariant> & { deployment: Deployment };
export type PolicySummaryRow = SummaryRow<PolicyVariant> & { deployment: Deployment };

export interface PolicyBenchResult {
  settings: PolicyBenchSettings;
  /** The limits on the `limits` key, and the price the config file gives the model. */
  limits: Record<string, number>;
  price: Record<string, { input: number; output: number }>;
  /** Each variant's `budget` after the run: proof that the budget path ran (and the plain key had none). */
  budgets: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[] };
  runSeconds: number;
  phases: PolicyPhaseRow[];
  summary: PolicySummaryRow[];
  bursts: BurstRow[];
}

export const PRICES = { [MODEL]: { input: 0.15, output: 0.6 } };
/** Nothing is refused, yet every check and both budgets run (GraphQL Int bounds tokensPerMinute). */
export const HIGH_LIMITS = {
  requestsPerMinute: 1_000_000,
  tokensPerMinute: 1_000_000_000,
  concurrentStreams: 100_000,
  dailyBudgetUsd: 1_000_000,
  monthlyBudgetUsd: 1_000_000,
};

type Keys = Record<PolicyVariant, string>;
/** Two gateways; `keys[i]` are valid on `gateways[i]` (the same keys when they share a database). */
interface Pair {
  deployment: Deployment;
  gateways: [Gateway, Gateway];
  keys: [Keys, Keys];
}

async function keysOn(gateway: Gateway): Promise<Keys> {
  return {
    none: `Bearer ${(await createKey(gateway, 'bench plain')).secret}`,
    limits: `Bearer ${(await createKey(gateway, 'bench limits', HIGH_LIMITS)).secret}`,
  };
}

/**
 * Round r: the variants take turns starting (r mod 2), and the limited key is on the first
 * gateway in rounds 0-1 and on the second in rounds 2-3, so neither the order nor a process's
 * luck falls on one variant.
 */
function serversFor(pair: Pair, round: number): SideServer<PolicyVariant>[] {
  const at = Math.floor(round / 2) % 2 === 0 ? 0 : 1;
  const other = at === 0 ? 1 : 0;
  const limits = { variant: 'limits' as const, gateway: pair.gateways[at], authorization: pair.keys[at].limits };
  const none = { variant: 'none' as const, gateway: pair.gateways[other], authorization: pair.keys[other].none };
  return round % 2 ? [none, limits] : [limits, none];
}

/**
 * Chat TTFT with a stored key that has every limit and both budgets (set so high that nothing is
 * refused, with a price for the model so the budget is reserved and settled), against the same
 * kind of key without limits, side by side; then bursts against small requestsPerMinute limits
 * over two instances sharing Postgres and Redis.
 */
export async function benchPolicyOverhead(
  settings: PolicyBenchSettings = DEFAULT_POLICY_SETTINGS,
  print: (line: string) => void = () => {},
): Promise<PolicyBenchResult> {
  const started = performance.now();
  const log = (line: string) => print(`${((performance.now() - started) / 1_000).toFixed(0).padStart(4)} s  ${line}`);
  const fake = await startFakeUpstream();
  const stops: (() => Promise<void>)[] = [() => fake.child.stop()];
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-policy-bench-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const config = join(dir, 'switchyard.json');
    await writeFile(config, JSON.stringify({ prices: PRICES }));
    const env = {
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: `${fake.url}/v1`,
      SWITCHYARD_ADMIN_KEY: ADMIN_KEY,
      SWITCHYARD_CONFIG: config,
    };
    const startGateway = async (databaseUrl: string, extra: Record<string, string> = {}) => {
      const gateway = await startSwitchyard(databaseUrl, { ...env, ...extra });
      stops.unshift(() => gateway.child.stop());
      return gateway;
    };

    const db = await createScratchDatabase();
    stops.unshift(() => db.drop());
    // One after the other: the first applies the migrations.
    const pg0 = await startGateway(db.url);
    const pg1 = await startGateway(db.url);
    const pgKeys = await keysOn(pg0);
    const pairs: Pair[] = [{ deployment: 'postgres+redis', gateways: [pg0, pg1], keys: [pgKeys, pgKeys] }];
    log(`postgres+redis: ${pg0.url} (pid ${pg0.child.pid}), ${pg1.url} (pid ${pg1.child.pid})`);
    if (settings.embeddedLevels.length) {
      const embedded = { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: 'memory://' };
      const e0 = await startGateway('', embedded);
      const e1 = await startGateway('', embedded);
      pairs.push({ deployment: 'embedded', gateways: [e0, e1], keys: [await keysOn(e0), await keysOn(e1)] });
      log(`embedded: ${e0.url} (pid ${e0.child.pid}), ${e1.url} (pid ${e1.child.pid})`);
    }
    const content = echoPrompt(settings.replyTokens);
    await checkServers(pairs, fake, content, settings);

    const start = loadavg();
    const phases: PolicyPhaseRow[] = [];
    for (const pair of pairs) {
      const plan = pair.deployment === 'embedded' ? settings.embeddedLevels : settings.levels;
      const rows = await runRounds({
        fake,
        rounds: settings.rounds,
        plan,
        transports: settings.transports,
        serversFor: (round) => serversFor(pair, round),
        content,
        load: settings.load,
        // Both at once at 100 too: the machine's drift (other work on it) falls on both alike.
        together: true,
        log: (line) => log(`${pair.deployment} ${line}`),
      });
      phases.push(...rows.map((row) => ({ deployment: pair.deployment, ...row })));
    }
    const budgets: Record<string, unknown> = {};
    for (const pair of pairs) {
      for (const variant of VARIANTS) {
        budgets[`${pair.deployment} ${variant}`] = await budgetOf(pair.gateways[0], pair.keys[0][variant]);
      }
    }

    const bursts: BurstRow[] = [];
    for (const limit of settings.bursts) {
      const row = await burst(pg0, [pg0, pg1], limit, settings.burstRequests, content);
      log(
        `burst: requestsPerMinute ${limit}, ${row.requests} at once: ${row.admitted} admitted, ${row.rateLimited} + ${row.unavailable} RATE_LIMITED (limit + unavailable), ${row.otherErrors} other, ${row.burstMs.toFixed(0)} ms, recorded ${row.recordedRequests}`,
      );
      bursts.push(row);
    }
    return {
      settings,
      limits: HIGH_LIMITS,
      price: PRICES,
      budgets,
      loadAverage: { start, end: loadavg() },
      runSeconds: (performance.now() - started) / 1_000,
      phases,
      summary: pairs.flatMap((pair) =>
        summariseRounds(
          phases.filter((p) => p.deployment === pair.deployment),
          VARIANTS,
          'none',
        ).map((row) => ({ deployment: pair.deployment, ...row })),
      ),
      bursts,
    };
  } finally {
    for (const stop of stops) await stop().catch((error) => log(`cleanup: ${(error as Error).message}`));
  }
}

/** Before measuring: every gateway serves both keys, and the limited key's chats are charged. */
async function checkServers(pairs: Pair[], fake: FakeUpstream, content: string, settings: PolicyBenchSettings) {
  for (const pair of pairs) {
    for (const [index, gateway] of pair.gateways.entries()) {
      for (const variant of VARIANTS) {
        const server = { variant, gateway, authorization: pair.keys[index]?.[variant] };
        for (const transport of settings.transports) {
          const client = await pathOf(server, transport).connect(1, content);
          const outcome = await client.open(AbortSignal.timeout(settings.load.requestTimeoutMs));
          await client.close();
          if (outcome.error !== undefined) {
            throw new Error(`${pair.deployment} ${variant} over ${transport}: ${outcome.error}`);
          }
        }
      }
    }
    // Settled as the generation ends, which may be just after its last event.
    const deadline = performance.now() + 10_000;
    let budget: unknown;
    do {
      budget = await budgetOf(pair.gateways[0], pair.keys[0].limits);
      if (Number((budget as { dailySpentUsd?: number })?.dailySpentUsd) > 0) break;
      await setTimeout(200);
    } while (performance.now() < deadline);
    if (!(Number((budget as { dailySpentUsd?: number })?.dailySpentUsd) > 0)) {
      throw new Error(`${pair.deployment}: the limited key's chats were not charged: ${JSON.stringify(budget)}`);
    }
  }
  await fake.arrivals();
}
