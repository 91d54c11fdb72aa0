import type { StreamResult } from './chat-clients.js';
import { type LoadOptions, runLoad } from './chat-load.js';
import { cpuMeter } from './peers/cpu.js';
import type { RestPath, StampedUpstream } from './rest-paths.js';
import { median, summarise } from './stats.js';

// Added time to first token on the REST hot path and the GraphQL `chat`, side by side with the
// stamped upstream called directly and with Portkey, at concurrency 1 (paths take turns request
// by request) and at concurrency 100 (each path alone in turn), the upstream pacing its tokens.

export interface TtftSettings {
  rounds: number;
  /** Tokens per reply and ms between them. */
  tokens: number;
  gapMs: number;
  /** Requests per path per round at concurrency 1. */
  serialRequests: number;
  /** Concurrency and requests per path per round for the loaded level, and its reply length when not `tokens`. */
  loaded: { concurrency: number; requests: number; tokens?: number };
  load: LoadOptions;
}

export const TTFT_DEFAULTS: TtftSettings = {
  rounds: 3,
  tokens: 6,
  gapMs: 20,
  serialRequests: 150,
  loaded: { concurrency: 100, requests: 1_000 },
  load: { requestTimeoutMs: 30_000, phaseTimeoutMs: 300_000 },
};

/** One path at one level in one round. */
export interface TtftPhase {
  round: number;
  path: string;
  concurrency: number;
  requests: number;
  ttftMs: { p50: number; p99: number };
  /** Client send to the request reaching the upstream, p50: the gateway's inbound work. */
  toUpstreamP50Ms: number | undefined;
  /** Gateway process CPU time over the phase / requests. */
  gatewayCpuMsPerRequest: number | undefined;
  errors: number;
  errorSamples: Record<string, number>;
}

/** Per path and level: medians over the rounds, and what the path adds over direct. */
export interface TtftSummary {
  path: string;
  concurrency: number;
  rounds: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  /** Median over rounds of (path p50 - direct p50 in the same round); likewise p99. */
  addedP50Ms: number | undefined;
  addedP99Ms: number | undefined;
  addedP50ByRoundMs: number[];
  addedToUpstreamP50Ms: number | undefined;
  gatewayCpuMsPerRequest: number | undefined;
  errors: number;
}

type Client = Awaited<ReturnType<RestPath['connect']>>;

function phaseOf(
  round: number,
  path: RestPath,
  concurrency: number,
  outcomes: StreamResult[],
  arrivals: Record<string, number>,
  cpuMs: number | undefined,
): TtftPhase {
  const ttft = summarise(outcomes.flatMap((o) => (o.ttftMs === undefined ? [] : [o.ttftMs])));
  const toUpstream = outcomes.flatMap((o) => {
    const at = arrivals[o.tag];
    return at === undefined ? [] : [at - o.sentAt];
  });
  const errorSamples: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.error === undefined) continue;
    const key = o.error.slice(0, 160);
    if (key in errorSamples || Object.keys(errorSamples).length < 5) errorSamples[key] = (errorSamples[key] ?? 0) + 1;
  }
  return {
    round,
    path: path.name,
    concurrency,
    requests: outcomes.length,
    ttftMs: { p50: ttft.p50, p99: ttft.p99 },
    toUpstreamP50Ms: toUpstream.length ? median(toUpstream) : undefined,
    gatewayCpuMsPerRequest: cpuMs === undefined ? undefined : cpuMs / Math.max(1, outcomes.length),
    errors: outcomes.filter((o) => o.error !== undefined).length,
    errorSamples,
  };
}

/** Concurrency 1: request i goes through every path in turn (order rotated per round). */
async function serialRound(
  round: number,
  upstream: StampedUpstream,
  paths: RestPath[],
  settings: TtftSettings,
): Promise<TtftPhase[]> {
  const order = paths.map((_, i) => paths[(i + round) % paths.length] as RestPath);
  const clients: Client[] = [];
  for (const path of order) clients.push(await path.connect(1, 'bench'));
  try {
    const signal = () => AbortSignal.timeout(settings.load.requestTimeoutMs);
    for (let i = 0; i < 10; i++) for (const client of clients) await client.open(signal());
    await upstream.arrivals();
    const outcomes: StreamResult[][] = order.map(() => []);
    for (let i = 0; i < settings.serialRequests; i++) {
      for (const [index, client] of clients.entries()) outcomes[index]?.push(await client.open(signal()));
    }
    // Several paths share a gateway process here: its CPU is read at the loaded level instead.
    const arrivals = await upstream.arrivals();
    return order.map((path, index) => phaseOf(round, path, 1, outcomes[index] ?? [], arrivals, undefined));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** The loaded level: each path alone in turn, so its gateway's CPU is its own. */
async function loadedRound(
  round: number,
  upstream: StampedUpstream,
  paths: RestPath[],
  settings: TtftSettings,
): Promise<TtftPhase[]> {
  const { concurrency, requests } = settings.loaded;
  const phases: TtftPhase[] = [];
  for (let i = 0; i < paths.length; i++) {
    const path = paths[(i + round) % paths.length] as RestPath;
    const client = await path.connect(concurrency, 'bench');
    try {
      const outcomes: StreamResult[] = [];
      const open: typeof client.open = (signal, onFirst) =>
        client.open(signal, onFirst).then((o) => {
          outcomes.push(o);
          return o;
        });
      await runLoad(concurrency * 2, concurrency, client.open, settings.load);
      await upstream.arrivals();
      const meter = cpuMeter(path.child ? { gateway: path.child.pid } : {});
      await runLoad(requests, concurrency, open, settings.load);
      const cpu = meter().byProcess.gateway;
      phases.push(phaseOf(round, path, concurrency, outcomes, await upstream.arrivals(), cpu));
    } finally {
      await client.close();
    }
  }
  return phases;
}

export async function benchRestTtft(
  upstream: StampedUpstream,
  paths: RestPath[],
  settings: TtftSettings,
  log: (line: string) => void,
): Promise<TtftPhase[]> {
  const phases: TtftPhase[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const run of [serialRound, loadedRound]) {
      const tokens = run === loadedRound ? (settings.loaded.tokens ?? settings.tokens) : settings.tokens;
      await upstream.pace(tokens, settings.gapMs);
      for (const phase of await run(round, upstream, paths, settings)) {
        phases.push(phase);
        log(
          `round ${round + 1} c=${phase.concurrency} ${phase.path}: ttft p50 ${phase.ttftMs.p50.toFixed(2)} p99 ${phase.ttftMs.p99.toFixed(2)} ms, to upstream ${phase.toUpstreamP50Ms?.toFixed(2)} ms, gw cpu ${phase.gatewayCpuMsPerRequest?.toFixed(3)} ms/req, errors ${phase.errors}`,
        );
      }
    }
  }
  return phases;
}

export function summariseTtft(phases: TtftPhase[]): TtftSummary[] {
  const rows: TtftSummary[] = [];
  const keys = [...new Set(phases.map((p) => `${p.concurrency}|${p.path}`))];
  for (const key of keys) {
    const [concurrency, path] = [Number(key.split('|')[0]), key.slice(key.indexOf('|') + 1)];
    const mine = phases.filter((p) => p.path === path && p.concurrency === concurrency);
    const diff = (pick: (p: TtftPhase) => number | undefined) =>
      mine.flatMap((p) => {
        const base = phases.find((d) => d.path === 'direct' && d.concurrency === concurrency && d.round === p.round);
        const a = pick(p);
        const b = base && pick(base);
        return a === undefined || b === undefined ? [] : [a - b];
      });
    const cpu = mine.flatMap((p) => (p.gatewayCpuMsPerRequest === undefined ? [] : [p.gatewayCpuMsPerRequest]));
    const added = diff((p) => p.ttftMs.p50);
    const direct = path === 'direct';
    rows.push({
      path,
      concurrency,
      rounds: mine.length,
      ttftP50Ms: median(mine.map((p) => p.ttftMs.p50)),
      ttftP99Ms: median(mine.map((p) => p.ttftMs.p99)),
      addedP50Ms: direct ? undefined : median(added),
      addedP99Ms: direct ? undefined : median(diff((p) => p.ttftMs.p99)),
      addedP50ByRoundMs: direct ? [] : added,
      addedToUpstreamP50Ms: direct ? undefined : median(diff((p) => p.toUpstreamP50Ms)),
      gatewayCpuMsPerRequest: cpu.length ? median(cpu) : undefined,
      errors: mine.reduce((sum, p) => sum + p.errors, 0),
    });
  }
  return rows;
}
