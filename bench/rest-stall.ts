import { setMaxListeners } from 'node:events';
import { Agent, request } from 'node:http';
import { monoMs } from './chat-clients.js';
import type { RestPath, StampedUpstream } from './rest-paths.js';
import { median } from './stats.js';

// Stall-free streams: N concurrent streams of `tokens` tokens `gapMs` apart; a stream counts when
// every token reached the client within `lateMs` of the moment the upstream wrote it (the stamp it
// carries). Two ways to reach N, both measured: `burst`, all N started in the same instant (every
// start lands while the first streams run), and `steady`, streams started at a constant rate of N
// per stream's length, so that N run at once (Little's law), for `steadySpans` lengths: how open
// gateway benchmarks load a gateway (a fixed request rate, as vegeta does) and how traffic
// arrives. The largest N at which every stream counts is found by doubling, then bisecting, each
// step repeated (a step holds when most repeats hold). The client is raw node:http and a regular
// expression over the bytes: it shares the two cores with the gateway and the upstream, so it must
// stay cheap.

export type Arrivals = 'burst' | 'steady';

export interface StallSettings {
  tokens: number;
  gapMs: number;
  lateMs: number;
  start: number;
  max: number;
  repeats: number;
  /** Bisecting stops when the gap between holding and failing is below this fraction of the holding N. */
  resolution: number;
  trialTimeoutMs: number;
  /** The arrival patterns measured, each for every path. */
  arrivals: Arrivals[];
  /** `steady`: how many stream lengths the starts go on for (N * steadySpans streams in all). */
  steadySpans: number;
}

export const STALL_DEFAULTS: StallSettings = {
  tokens: 64,
  gapMs: 20,
  lateMs: 100,
  start: 125,
  max: 4_000,
  repeats: 3,
  resolution: 0.1,
  trialTimeoutMs: 90_000,
  arrivals: ['burst', 'steady'],
  steadySpans: 3,
};

/** One stream as the client saw it. */
export interface StreamCheck {
  tokens: number;
  /** The latest any token arrived after the upstream wrote it, in ms. */
  maxLateMs: number;
  error: string | undefined;
}

/** One try at N concurrent streams. */
export interface StallTrial {
  path: string;
  arrivals: Arrivals;
  /** N: streams running at once (all of them for `burst`). */
  streams: number;
  /** Streams started in the trial. */
  started: number;
  /** Streams in which every token arrived within lateMs, and whether all of them did. */
  counted: number;
  holds: boolean;
  /** Over all streams: the median and the worst of each stream's latest token. */
  maxLateP50Ms: number;
  maxLateWorstMs: number;
  errors: number;
  errorSample: string | undefined;
  wallMs: number;
}

export interface StallResult {
  path: string;
  arrivals: Arrivals;
  /** The largest N that held; 0 when even the first failed. */
  largestHolding: number;
  /** The smallest N that failed; undefined when `max` held. */
  smallestFailing: number | undefined;
  trials: StallTrial[];
}

const CHAT = `subscription Chat($input: SendMessageInput!) {
  chat(input: $input) { __typename ... on MessageDelta { text } ... on MessageFailed { code error } }
}`;
const STAMP = / s(\d+\.\d{3})/g;

/** What a stream's request posts on `path`: an OpenAI chat completion or a GraphQL `chat`. */
export function bodyOf(path: RestPath): string {
  return path.api === 'openai'
    ? JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'stall' }],
      })
    : JSON.stringify({
        query: CHAT,
        variables: { input: { content: 'stall', provider: 'openai', model: 'gpt-4o-mini' } },
      });
}

export function checkStream(agent: Agent, path: RestPath, body: string, signal: AbortSignal): Promise<StreamCheck> {
  return new Promise((resolve) => {
    const check: StreamCheck = { tokens: 0, maxLateMs: 0, error: undefined };
    const done = (error?: string) => {
      if (error !== undefined && check.error === undefined) check.error = error;
      resolve(check);
    };
    const req = request(
      path.endpoint.url,
      {
        method: 'POST',
        agent,
        signal,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'content-length': Buffer.byteLength(body),
          ...path.endpoint.headers,
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return done(`HTTP ${res.statusCode}`);
        }
        res.setEncoding('utf8');
        let pending = '';
        res.on('data', (chunk: string) => {
          const now = monoMs();
          pending += chunk;
          const end = pending.lastIndexOf('\n');
          if (end < 0) return;
          for (const match of pending.slice(0, end).matchAll(STAMP)) {
            check.tokens++;
            check.maxLateMs = Math.max(check.maxLateMs, now - Number(match[1]));
          }
          pending = pending.slice(end + 1);
        });
        res.on('end', () => done());
        res.on('error', (error) => done(error.message));
      },
    );
    req.on('error', (error) => done(error.message));
    req.end(body);
  });
}

/** Starts `total` streams, one every `intervalMs` (catching up when a timer fires late). */
function startSteadily(total: number, intervalMs: number, start: () => Promise<StreamCheck>): Promise<StreamCheck[]> {
  return new Promise((resolve) => {
    const runs: Promise<StreamCheck>[] = [];
    const t0 = performance.now();
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      while (runs.length < due) runs.push(start());
      if (runs.length < total) setTimeout(tick, Math.max(1, t0 + runs.length * intervalMs - performance.now()));
      else resolve(Promise.all(runs));
    };
    tick();
  });
}

export async function trial(
  path: RestPath,
  streams: number,
  settings: StallSettings,
  arrivals: Arrivals = 'burst',
): Promise<StallTrial> {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const signal = AbortSignal.timeout(settings.trialTimeoutMs);
  const started = arrivals === 'burst' ? streams : streams * settings.steadySpans;
  // Every stream of the trial listens to it: not a leak, so no MaxListenersExceededWarning.
  setMaxListeners(started + 10, signal);
  const body = bodyOf(path);
  const open = () => checkStream(agent, path, body, signal);
  const t0 = performance.now();
  try {
    const checks =
      arrivals === 'burst'
        ? await Promise.all(Array.from({ length: streams }, open))
        : await startSteadily(started, (settings.tokens * settings.gapMs) / streams, open);
    const ok = (c: StreamCheck) =>
      c.error === undefined && c.tokens === settings.tokens && c.maxLateMs <= settings.lateMs;
    const counted = checks.filter(ok).length;
    const failed = checks.find((c) => !ok(c));
    return {
      path: path.name,
      arrivals,
      streams,
      started,
      counted,
      holds: counted === started,
      maxLateP50Ms: median(checks.map((c) => c.maxLateMs)),
      maxLateWorstMs: Math.max(...checks.map((c) => c.maxLateMs)),
      errors: checks.filter((c) => c.error !== undefined).length,
      errorSample:
        failed &&
        (failed.error ?? `${failed.tokens}/${settings.tokens} tokens, latest ${failed.maxLateMs.toFixed(1)} ms late`),
      wallMs: performance.now() - t0,
    };
  } finally {
    agent.destroy();
  }
}

/** Doubling from `start`, then bisecting between the last N that held and the first that failed. */
export async function largestStallFree(
  path: RestPath,
  settings: StallSettings,
  arrivals: Arrivals,
  log: (line: string) => void,
): Promise<StallResult> {
  const trials: StallTrial[] = [];
  const holds = async (streams: number) => {
    let held = 0;
    for (let r = 0; r < settings.repeats; r++) {
      const t = await trial(path, streams, settings, arrivals);
      trials.push(t);
      if (t.holds) held++;
      log(
        `stall ${path.name} ${arrivals} N=${streams} #${r + 1}: ${t.counted}/${t.started} counted, latest token p50 ${t.maxLateP50Ms.toFixed(1)} worst ${t.maxLateWorstMs.toFixed(1)} ms${t.errorSample ? ` (${t.errorSample})` : ''}`,
      );
      // Settled either way: no need for the remaining repeats.
      if (held * 2 > settings.repeats || (r + 1 - held) * 2 > settings.repeats) break;
    }
    return held * 2 > settings.repeats;
  };
  let good = 0;
  let bad: number | undefined;
  for (let n = settings.start; n <= settings.max; n *= 2) {
    if (await holds(n)) good = n;
    else {
      bad = n;
      break;
    }
  }
  // The first step failed: halve until one holds.
  for (let n = Math.floor(settings.start / 2); good === 0 && bad !== undefined && n >= 1; n = Math.floor(n / 2)) {
    if (await holds(n)) good = n;
    else bad = n;
  }
  if (bad === undefined && good < settings.max && (await holds(settings.max))) good = settings.max;
  while (bad !== undefined && good > 0 && bad - good > Math.max(10, good * settings.resolution)) {
    const mid = Math.round((good + bad) / 2);
    if (await holds(mid)) good = mid;
    else bad = mid;
  }
  return { path: path.name, arrivals, largestHolding: good, smallestFailing: bad, trials };
}

export async function benchStall(
  upstream: StampedUpstream,
  paths: RestPath[],
  settings: StallSettings,
  log: (line: string) => void,
): Promise<StallResult[]> {
  await upstream.pace(settings.tokens, settings.gapMs);
  const results: StallResult[] = [];
  for (const arrivals of settings.arrivals)
    for (const path of paths) results.push(await largestStallFree(path, settings, arrivals, log));
  return results;
}
