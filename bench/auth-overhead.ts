import { loadavg } from 'node:os';
import { connectGateway, type OpenStream, type StreamResult, sseGateway } from './chat-clients.js';
import { type LoadOptions, runLoad } from './chat-load.js';
import { type ChatPath, STREAMS_PER_SOCKET } from './chat-paths.js';
import { warmUp } from './chat-phase.js';
import { cpuMeter } from './peers/cpu.js';
import { createStoredKey, signBenchJwt } from './peers/credentials.js';
import { type FakeUpstream, type Gateway, startFakeUpstream, startSwitchyard } from './peers/gateways.js';
import { createScratchDatabase } from './peers/scratch-db.js';
import { integerLevels, type LatencySummary, median, summarise as summariseLatency } from './stats.js';

/** How the client proves who it is: not at all (the loopback default), a stored API key, a JWT. */
export const VARIANTS = ['none', 'api-key', 'jwt'] as const;
export type Variant = (typeof VARIANTS)[number];
/** graphql-ws checks the credential once per socket; SSE once per chat (one HTTP request each). */
export type Transport = 'ws' | 'sse';

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

/** One phase: one variant, transport and level, in one round. */
export interface AuthPhaseRow {
  round: number;
  variant: Variant;
  transport: Transport;
  concurrency: number;
  tokenDelayMs?: number;
  requests: number;
  ttftMs: LatencySummary;
  /** Client send to the request reaching the upstream: the gateway's inbound work, authentication included. */
  toUpstreamMs: { p50: number; p99: number };
  gatewayCpuMsPerChat: number | undefined;
  errors: number;
  errorSamples: Record<string, number>;
}

/** Per transport and level: each variant's medians over the rounds, and what it adds over `none`. */
export interface AuthSummaryRow {
  transport: Transport;
  concurrency: number;
  tokenDelayMs?: number;
  variant: Variant;
  rounds: number;
  /** Median over the rounds of each round's p50 (and p99) TTFT. */
  ttftP50Ms: number;
  ttftP99Ms: number;
  toUpstreamP50Ms: number;
  gatewayCpuMsPerChat: number | undefined;
  /** Median over the rounds of (this variant's p50 - none's p50 in the same round); every round's difference beside it. */
  addedP50Ms?: number;
  addedP50ByRoundMs?: number[];
  /** The same for the time to reach the upstream, where authentication happens. */
  addedToUpstreamP50Ms?: number;
  addedGatewayCpuMsPerChat?: number;
  errors: number;
}

export interface AuthBenchResult {
  settings: AuthBenchSettings;
  /** Load average (1, 5, 15 min) when the measurement started and ended. */
  loadAverage: { start: number[]; end: number[] };
  runSeconds: number;
  phases: AuthPhaseRow[];
  summary: AuthSummaryRow[];
}

interface Server {
  variant: Variant;
  gateway: Gateway;
  databaseUrl: string;
  /** The Authorization header value, or none. */
  authorization: string | undefined;
}

const JWT_SECRET = 'switchyard-bench-hs256-secret-0123456789abcdef';

/** The fake echoes `echo: <tag> w1 w2 ...`: a reply of `tokens` word tokens. */
const prompt = (tokens: number) => Array.from({ length: tokens - 2 }, (_, i) => `w${i + 1}`).join(' ');

function pathOf(server: Server, transport: Transport): ChatPath {
  const headers: Record<string, string> = server.authorization ? { authorization: server.authorization } : {};
  return {
    name: 'switchyard',
    child: server.gateway.child,
    async connect(concurrency, content) {
      if (transport === 'sse') return { open: sseGateway(server.gateway.url, content, headers), close: async () => {} };
      const sockets = await connectGateway(
        server.gateway.url,
        Math.ceil(concurrency / STREAMS_PER_SOCKET),
        15_000,
        server.authorization ? { authorization: server.authorization } : undefined,
      );
      return { open: sockets.stream(content), close: () => sockets.close() };
    },
  };
}

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
    const content = prompt(settings.replyTokens);
    await checkCredentials(servers, fake, content, settings.load);

    const start = loadavg();
    const phases: AuthPhaseRow[] = [];
    const plan: { concurrency: number; requests: number; tokenDelayMs?: number }[] = [
      ...settings.levels.map(([concurrency, requests]) => ({ concurrency, requests })),
      ...settings.pacedLevels.map(([concurrency, requests, tokenDelayMs]) => ({ concurrency, requests, tokenDelayMs })),
    ];
    for (let round = 0; round < settings.rounds; round++) {
      for (const level of plan) {
        if (level.tokenDelayMs !== undefined) await fake.fault({ tokenDelayMs: level.tokenDelayMs });
        try {
          for (const transport of settings.transports) {
            // Each round starts the rotation on another variant, so none always goes first.
            const order = servers.map((_, i) => servers[(round + i) % servers.length] as Server);
            // At concurrency 1 the variants take turns request by request. Above, three gateway
            // processes loaded at once would compete for the two cores and measure the scheduler:
            // each runs alone in turn, as in the chat benchmark.
            const rows =
              level.concurrency === 1
                ? await mixedPhase(fake, order, transport, level, content, settings.load)
                : await sequentialPhases(fake, order, transport, level, content, settings.load);
            for (const row of rows) {
              phases.push({ round, ...row });
              log(
                `round ${round + 1} ${transport} c=${level.concurrency}${level.tokenDelayMs ? ' paced' : ''} ${row.variant}: ttft p50 ${row.ttftMs.p50.toFixed(2)} ms, gw cpu ${row.gatewayCpuMsPerChat?.toFixed(2)} ms/chat, errors ${row.errors}`,
              );
            }
          }
        } finally {
          if (level.tokenDelayMs !== undefined) await fake.clear();
        }
      }
    }
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
 * One phase over all three servers at once: request k goes to variant k mod 3, `concurrency` chats
 * in flight in all, so each variant's chats meet the same machine (the other helpers' load
 * included) and their TTFTs can be compared pair-wise; each gateway's CPU is its own process's.
 */
async function mixedPhase(
  fake: FakeUpstream,
  servers: Server[],
  transport: Transport,
  level: { concurrency: number; requests: number; tokenDelayMs?: number },
  content: string,
  load: LoadOptions,
): Promise<Omit<AuthPhaseRow, 'round'>[]> {
  const clients = await Promise.all(
    servers.map((server) => pathOf(server, transport).connect(level.concurrency, content)),
  );
  try {
    let next = 0;
    let outcomes: StreamResult[][] = servers.map(() => []);
    const open: OpenStream = (signal, onFirstToken) => {
      const index = next++ % servers.length;
      const client = clients[index] as (typeof clients)[number];
      return client.open(signal, onFirstToken).then((outcome) => {
        outcomes[index]?.push(outcome);
        return outcome;
      });
    };
    // At full concurrency, so that every keep-alive connection and pool is open before measuring.
    await runLoad(
      Math.min(level.requests, Math.max(level.concurrency, 100) * servers.length),
      level.concurrency,
      open,
      load,
    );
    await fake.arrivals();
    next = 0;
    outcomes = servers.map(() => []);
    const meter = cpuMeter(Object.fromEntries(servers.map((s) => [s.variant, s.gateway.child.pid])));
    await runLoad(level.requests, level.concurrency, open, load);
    const cpu = meter();
    const arrivals = await fake.arrivals();
    return servers.map((server, index) => {
      const mine = outcomes[index] ?? [];
      const ttft = mine.flatMap((o) => (o.ttftMs === undefined ? [] : [o.ttftMs]));
      const toUpstream = summariseLatency(
        mine.flatMap((o) =>
          o.firstAt === undefined || arrivals[o.tag] === undefined ? [] : [(arrivals[o.tag] as number) - o.sentAt],
        ),
      );
      const errorSamples: Record<string, number> = {};
      for (const o of mine) {
        if (o.error === undefined) continue;
        const key = o.error.slice(0, 160);
        if (key in errorSamples || Object.keys(errorSamples).length < 5)
          errorSamples[key] = (errorSamples[key] ?? 0) + 1;
      }
      const gatewayMs = cpu.byProcess[server.variant];
      return {
        variant: server.variant,
        transport,
        concurrency: level.concurrency,
        ...(level.tokenDelayMs === undefined ? {} : { tokenDelayMs: level.tokenDelayMs }),
        requests: mine.length,
        ttftMs: summariseLatency(ttft),
        toUpstreamMs: { p50: toUpstream.p50, p99: toUpstream.p99 },
        gatewayCpuMsPerChat: gatewayMs === undefined ? undefined : gatewayMs / Math.max(1, mine.length),
        errors: mine.filter((o) => o.error !== undefined).length,
        errorSamples,
      };
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** One phase per server, one after the other, `requests / servers` chats each. */
async function sequentialPhases(
  fake: FakeUpstream,
  servers: Server[],
  transport: Transport,
  level: { concurrency: number; requests: number; tokenDelayMs?: number },
  content: string,
  load: LoadOptions,
): Promise<Omit<AuthPhaseRow, 'round'>[]> {
  const rows: Omit<AuthPhaseRow, 'round'>[] = [];
  const each = { ...level, requests: Math.ceil(level.requests / servers.length) };
  for (const server of servers) rows.push(...(await mixedPhase(fake, [server], transport, each, content, load)));
  return rows;
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

export function summarise(phases: AuthPhaseRow[]): AuthSummaryRow[] {
  const rows: AuthSummaryRow[] = [];
  const levels = new Map<string, AuthPhaseRow>();
  for (const p of phases) levels.set(`${p.transport}|${p.concurrency}|${p.tokenDelayMs ?? ''}`, p);
  for (const level of levels.values()) {
    const at = (variant: Variant) =>
      phases.filter(
        (p) =>
          p.variant === variant &&
          p.transport === level.transport &&
          p.concurrency === level.concurrency &&
          p.tokenDelayMs === level.tokenDelayMs,
      );
    const base = at('none');
    const byRound = (mine: AuthPhaseRow[], pick: (p: AuthPhaseRow) => number | undefined) =>
      mine.flatMap((p) => {
        const other = base.find((b) => b.round === p.round);
        const a = pick(p);
        const b = other && pick(other);
        return a === undefined || b === undefined ? [] : [a - b];
      });
    for (const variant of VARIANTS) {
      const mine = at(variant);
      if (mine.length === 0) continue;
      const cpu = mine.map((p) => p.gatewayCpuMsPerChat).filter((x): x is number => x !== undefined);
      const row: AuthSummaryRow = {
        transport: level.transport,
        concurrency: level.concurrency,
        ...(level.tokenDelayMs === undefined ? {} : { tokenDelayMs: level.tokenDelayMs }),
        variant,
        rounds: mine.length,
        ttftP50Ms: median(mine.map((p) => p.ttftMs.p50)),
        ttftP99Ms: median(mine.map((p) => p.ttftMs.p99)),
        toUpstreamP50Ms: median(mine.map((p) => p.toUpstreamMs.p50)),
        gatewayCpuMsPerChat: cpu.length ? median(cpu) : undefined,
        errors: mine.reduce((sum, p) => sum + p.errors, 0),
      };
      if (variant !== 'none') {
        const added = byRound(mine, (p) => p.ttftMs.p50);
        row.addedP50Ms = median(added);
        row.addedP50ByRoundMs = added;
        row.addedToUpstreamP50Ms = median(byRound(mine, (p) => p.toUpstreamMs.p50));
        const addedCpu = byRound(mine, (p) => p.gatewayCpuMsPerChat);
        if (addedCpu.length) row.addedGatewayCpuMsPerChat = median(addedCpu);
      }
      rows.push(row);
    }
  }
  return rows;
}
