import { loadavg } from 'node:os';
import { sseGateway } from './chat-clients.js';
import type { LoadOptions } from './chat-load.js';
import { warmUp } from './chat-phase.js';
import { createStoredKey, signBenchJwt } from './peers/credentials.js';
import { type FakeUpstream, startFakeUpstream, startSwitchyard } from './peers/gateways.js';
import { createScratchDatabase } from './peers/scratch-db.js';
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

/** How the client proves who it is: not at all (the loopback default), a stored API key, a JWT. */
export const VARIANTS = ['none', 'api-key', 'jwt'] as const;
export type Variant = (typeof VARIANTS)[number];
export type { Transport } from './side-by-side.js';

export interface AuthBenchSettings {
  /** [concurrency, requests] with the instant upstream; requests in all, a third per variant. */
  levels: [concurrency: number, requests: number][];
  /** [concurrency, requests, ms between tokens] with the paced upstream (see chat-ttft.ts). */
  pacedLevels: [concurrency: number, requests: number, tokenDelayMs: number][];
  transports: Transport[];
  /** Every phase runs once per round (the variants interleaved request by request). */
  rounds: number;
  replyTokens: number;
  load: LoadOptions;
}

export const DEFAULT_AUTH_SETTINGS: AuthBenchSettings = {
  levels: [
    [1, 600],
    [100, 3_000],
  ],
  pacedLevels: [[100, 1_500, 20]],
  transports: ['sse', 'ws'],
  rounds: 3,
  replyTokens: 32,
  load: { requestTimeoutMs: 30_000, phaseTimeoutMs: 120_000 },
};

/** `BENCH_AUTH_ROUNDS=3 BENCH_AUTH_LEVELS=1:600,100:3000 BENCH_AUTH_PACED=100:1500:20 BENCH_AUTH_TRANSPORTS=sse,ws` */
export function authSettingsFromEnv(env: Record<string, string | undefined> = process.env): AuthBenchSettings {
  const transports = env.BENCH_AUTH_TRANSPORTS?.split(',').filter(Boolean);
  if (transports?.some((t) => t !== 'ws' && t !== 'sse')) throw new Error('BENCH_AUTH_TRANSPORTS: ws, sse');
  const rounds = env.BENCH_AUTH_ROUNDS === undefined ? undefined : Number(env.BENCH_AUTH_ROUNDS);
  return {
    ...DEFAULT_AUTH_SETTINGS,
    levels: (integerLevels(env.BENCH_AUTH_LEVELS, 2) as AuthBenchSettings['levels']) ?? DEFAULT_AUTH_SETTINGS.levels,
    pacedLevels:
      (integerLevels(env.BENCH_AUTH_PACED, 3) as AuthBenchSettings['pacedLevels']) ?? DEFAULT_AUTH_SETTINGS.pacedLevels,
    transports: (transports as Transport[] | undefined) ?? DEFAULT_AUTH_SETTINGS.transports,
    rounds: rounds ?? DEFAULT_AUTH_SETTINGS.rounds,
  };
}

export type AuthPhaseRow = PhaseRow<Variant>;
export type AuthSummaryRow = SummaryRow<Variant>;

export interface AuthBenchResult {
  settings: AuthBenchSettings;
  /** Load average (1, 5, 15 min) when the measurement started and ended. */
  loadAverage: { start: number[]; end: number[] };
  runSeconds: number;
  phases: AuthPhaseRow[];
  summary: AuthSummaryRow[];
}

type Server = SideServer<Variant> & { databaseUrl: string };

const JWT_SECRET = 'switchyard-bench-hs256-secret-0123456789abcdef';

/**
 * The chat benchmark's TTFT through three Switchyard servers side by side, the same fake upstream
 * behind each: one with nothing configured (loopback default user), one signed into with a stored
 * API key, one with an HS256 JWT. Their requests are interleaved one by one, so that the machine's
 * drift falls on each alike; the report is medians over rounds.
 */
export async function benchAuthOverhead(
  settings: AuthBenchSettings = DEFAULT_AUTH_SETTINGS,
  log: (line: string) => void = () => {},
): Promise<AuthBenchResult> {
  const started = performance.now();
  const fake = await startFakeUpstream();
  const stops: (() => Promise<void>)[] = [() => fake.child.stop()];
  try {
    const servers: Server[] = [];
    for (const variant of VARIANTS) {
      const db = await createScratchDatabase();
      stops.unshift(() => db.drop());
      const env: Record<string, string> = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${fake.url}/v1` };
      if (variant === 'jwt') env.AUTH_JWT_SECRET = JWT_SECRET;
      const gateway = await startSwitchyard(db.url, env);
      stops.unshift(() => gateway.child.stop());
      let authorization: string | undefined;
      if (variant === 'api-key') authorization = `Bearer ${await createStoredKey(db.url)}`;
      if (variant === 'jwt') authorization = `Bearer ${await signBenchJwt(JWT_SECRET, 3 * 3_600)}`;
      servers.push({ variant, gateway, databaseUrl: db.url, authorization });
      log(`${variant}: switchyard ${gateway.url} (pid ${gateway.child.pid})`);
    }
    const content = echoPrompt(settings.replyTokens);
    await checkCredentials(servers, fake, content, settings.load);

    const start = loadavg();
    const plan: Level[] = [
      ...settings.levels.map(([concurrency, requests]) => ({ concurrency, requests })),
      ...settings.pacedLevels.map(([concurrency, requests, tokenDelayMs]) => ({ concurrency, requests, tokenDelayMs })),
    ];
    const phases = await runRounds({
      fake,
      rounds: settings.rounds,
      plan,
      transports: settings.transports,
      // Each round starts the rotation on another variant, so none always goes first.
      serversFor: (round) => servers.map((_, i) => servers[(round + i) % servers.length] as Server),
      content,
      load: settings.load,
      log,
    });
    return {
      settings,
      loadAverage: { start, end: loadavg() },
      runSeconds: (performance.now() - started) / 1_000,
      phases,
      summary: summarise(phases),
    };
  } finally {
    for (const stop of stops) await stop().catch((error) => log(`cleanup: ${(error as Error).message}`));
  }
}

/**
 * Before measuring: every server answers its client, and the servers with a credential refuse a
 * chat without one (so that the variants differ in what they claim to).
 */
async function checkCredentials(servers: Server[], fake: FakeUpstream, content: string, load: LoadOptions) {
  for (const server of servers) {
    for (const transport of ['sse', 'ws'] as const) {
      const failure = await warmUp(pathOf(server, transport), content, load);
      if (failure !== undefined) throw new Error(`${server.variant} over ${transport}: ${failure}`);
    }
    if (server.authorization) {
      const anonymous = await sseGateway(server.gateway.url, content)(AbortSignal.timeout(10_000));
      if (!anonymous.error) throw new Error(`${server.variant}: a chat without credentials was served`);
    }
  }
  await fake.arrivals();
}

export const summarise = (phases: AuthPhaseRow[]): AuthSummaryRow[] => summariseRounds(phases, VARIANTS, 'none');
