import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runLoad } from './chat-load.js';
import { startBareProxy, startPortkey, startSwitchyard } from './peers/gateways.js';
import { createScratchDatabase } from './peers/scratch-db.js';
import { benchStreamCost, COST_DEFAULTS, type CostRow, type CostSettings } from './rest-cost.js';
import {
  bareProxyPath,
  directPath,
  mintKey,
  portkeyPath,
  type RestPath,
  startStampedUpstream,
  switchyardGraphqlPath,
  switchyardRestPath,
} from './rest-paths.js';
import { type Arrivals, benchStall, STALL_DEFAULTS, type StallResult, type StallSettings } from './rest-stall.js';
import {
  benchRestTtft,
  summariseTtft,
  TTFT_DEFAULTS,
  type TtftPhase,
  type TtftSettings,
  type TtftSummary,
} from './rest-ttft.js';

// `npm run bench -- rest`: the REST hot path (and the GraphQL `chat`) against Portkey and the
// upstream called directly, in one run: added TTFT, gateway CPU per request, CPU per stream by
// layer (bench/rest-cost.ts), stall-free streams.
// BENCH_REST_ROUNDS, BENCH_REST_SERIAL (requests per path per round at concurrency 1),
// BENCH_REST_LOADED (`100:1000`), BENCH_REST_STALL (`0` skips it; else the largest N tried),
// BENCH_REST_STALL_PATHS (comma-separated path names), BENCH_REST_STALL_ARRIVALS (`burst,steady`),
// BENCH_REST_TTFT=0 skips the TTFT part; BENCH_REST_COST=0 the CPU per stream
// (BENCH_REST_COST_CONC, BENCH_REST_COST_STREAMS, BENCH_REST_COST_ROUNDS).

export interface RestBenchResult {
  peers: { portkeyGateway: string };
  ttftSettings: TtftSettings;
  stallSettings: StallSettings;
  skipped: { path: string; reason: string }[];
  ttft: TtftSummary[];
  ttftPhases: TtftPhase[];
  costSettings: CostSettings;
  streamCost: CostRow[];
  stall: StallResult[];
}

export function restSettingsFromEnv(env: Record<string, string | undefined> = process.env) {
  const loaded = env.BENCH_REST_LOADED?.split(':').map(Number);
  const ttft: TtftSettings = {
    ...TTFT_DEFAULTS,
    rounds: Number(env.BENCH_REST_ROUNDS ?? TTFT_DEFAULTS.rounds),
    serialRequests: Number(env.BENCH_REST_SERIAL ?? TTFT_DEFAULTS.serialRequests),
    loaded:
      loaded?.length === 2 ? { concurrency: loaded[0] ?? 100, requests: loaded[1] ?? 1_000 } : TTFT_DEFAULTS.loaded,
  };
  const stall: StallSettings = {
    ...STALL_DEFAULTS,
    max: Number(env.BENCH_REST_STALL ?? STALL_DEFAULTS.max),
    arrivals: (env.BENCH_REST_STALL_ARRIVALS?.split(',') as Arrivals[] | undefined) ?? STALL_DEFAULTS.arrivals,
  };
  const cost: CostSettings = {
    ...COST_DEFAULTS,
    concurrency: Number(env.BENCH_REST_COST_CONC ?? COST_DEFAULTS.concurrency),
    streams: Number(env.BENCH_REST_COST_STREAMS ?? COST_DEFAULTS.streams),
    rounds: Number(env.BENCH_REST_COST_ROUNDS ?? COST_DEFAULTS.rounds),
  };
  return {
    ttft,
    cost,
    stall,
    runTtft: env.BENCH_REST_TTFT !== '0',
    runCost: env.BENCH_REST_COST !== '0',
    stallPaths: env.BENCH_REST_STALL_PATHS?.split(','),
  };
}

async function hasPgvector(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** A few streams; resolves with why when every one failed (the path cannot be measured). */
async function warmUp(path: RestPath): Promise<string | undefined> {
  const client = await path.connect(10, 'warm').catch((error: Error) => error);
  if (client instanceof Error) return client.message;
  try {
    const result = await runLoad(20, 10, client.open, { requestTimeoutMs: 15_000, phaseTimeoutMs: 60_000 });
    return result.errors === result.requests ? JSON.stringify(result.errorSamples) : undefined;
  } finally {
    await client.close();
  }
}

export async function benchRest(log: (line: string) => void): Promise<RestBenchResult> {
  const settings = restSettingsFromEnv();
  const portkeyVersion = (
    JSON.parse(readFileSync(join(import.meta.dirname, '../node_modules/@portkey-ai/gateway/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const upstream = await startStampedUpstream();
  const db = await createScratchDatabase();
  const stops: (() => Promise<void>)[] = [() => upstream.child.stop(), () => db.drop()];
  try {
    const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${upstream.url}/v1` };
    const embedded = await startSwitchyard(undefined, env);
    stops.unshift(() => embedded.child.stop());
    // Postgres + Redis only where the server has pgvector (the migrations need it).
    const production = (await hasPgvector(db.url)) ? await startSwitchyard(db.url, env) : undefined;
    if (production) stops.unshift(() => production.child.stop());
    else log('postgres has no pgvector extension: the Postgres + Redis paths are left out');
    const portkey = await startPortkey();
    stops.unshift(() => portkey.child.stop());
    const floor = await startBareProxy(upstream.url);
    stops.unshift(() => floor.child.stop());
    const embeddedKey = await mintKey(embedded);
    const productionKey = production && (await mintKey(production));
    log(
      `upstream ${upstream.url}; switchyard ${embedded.url} (embedded), ${production?.url} (pg+redis); portkey ${portkey.url}`,
    );
    const candidates = [
      directPath(upstream),
      bareProxyPath(floor),
      switchyardRestPath('sy-rest-embedded', embedded, embeddedKey),
      ...(production && productionKey
        ? [
            switchyardRestPath('sy-rest-pg', production, productionKey),
            switchyardRestPath('sy-rest-pg-stored', production, productionKey, true),
          ]
        : []),
      switchyardGraphqlPath('sy-graphql-embedded', embedded, embeddedKey),
      ...(production && productionKey ? [switchyardGraphqlPath('sy-graphql-pg', production, productionKey)] : []),
      portkeyPath(portkey, upstream),
    ];
    await upstream.pace(4, 0);
    const paths: RestPath[] = [];
    const skipped: RestBenchResult['skipped'] = [];
    for (const path of candidates) {
      const failure = await warmUp(path);
      if (failure === undefined) paths.push(path);
      else skipped.push({ path: path.name, reason: failure.slice(0, 300) });
      if (failure !== undefined) log(`${path.name} skipped: ${failure.slice(0, 300)}`);
    }
    const phases = settings.runTtft
      ? await benchRestTtft(
          upstream,
          paths.filter((p) => p.name !== 'sy-rest-pg-stored'),
          settings.ttft,
          log,
        )
      : [];
    // CPU per stream by layer: on Postgres + Redis, as deployed, beside node-floor and Portkey.
    const costNames = ['node-floor', 'sy-rest-pg', 'sy-rest-pg-stored', 'sy-graphql-pg', 'portkey'];
    const streamCost = settings.runCost
      ? await benchStreamCost(
          upstream,
          paths.filter((p) => costNames.includes(p.name)),
          settings.cost,
          log,
        )
      : [];
    // Stall-free streams: one Switchyard per path kind (Postgres + Redis, as deployed), Portkey, and
    // direct as the control that shows what the client and the upstream hold by themselves.
    const stallNames = settings.stallPaths ?? [
      'direct',
      production ? 'sy-rest-pg' : 'sy-rest-embedded',
      production ? 'sy-graphql-pg' : 'sy-graphql-embedded',
      'portkey',
    ];
    const stall =
      settings.stall.max > 0
        ? await benchStall(
            upstream,
            paths.filter((p) => stallNames.includes(p.name)),
            settings.stall,
            log,
          )
        : [];
    return {
      peers: { portkeyGateway: portkeyVersion },
      ttftSettings: settings.ttft,
      stallSettings: settings.stall,
      skipped,
      ttft: summariseTtft(phases),
      ttftPhases: phases,
      costSettings: settings.cost,
      streamCost,
      stall,
    };
  } finally {
    for (const stop of stops) await stop().catch((error) => log(`cleanup: ${(error as Error).message}`));
  }
}
