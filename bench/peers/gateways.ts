import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultSpec } from '../../test/fakes/index.js';
import { type Child, startChild } from './children.js';

export interface FakeUpstream {
  child: Child;
  /** Origin, e.g. http://127.0.0.1:41234 */
  url: string;
  fault(spec: FaultSpec): Promise<void>;
  clear(): Promise<void>;
  /** Drops every open connection, then listens again. */
  restart(): Promise<void>;
  /** When each tagged request reached the fake since the last call (monotonic ms, see monoMs). */
  arrivals(): Promise<Record<string, number>>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const child = startChild({ script: 'bench/peers/fake-upstream.ts', tsx: true, env: { NODE_ENV: 'production' } });
  const url = await child.ready;
  return {
    child,
    url,
    fault: async (spec) => void (await child.request({ type: 'fault', spec })),
    clear: async () => void (await child.request({ type: 'clear' })),
    restart: async () => void (await child.request({ type: 'restart' })),
    arrivals: async () => (await child.request<{ arrivals: Record<string, number> }>({ type: 'arrivals' })).arrivals,
  };
}

export interface Gateway {
  child: Child;
  /** Where clients send their requests: a GraphQL endpoint or an OpenAI-style base URL. */
  url: string;
}

/**
 * `BENCH_CPU_PROF=<dir>`: gateways write a V8 CPU profile there when they exit (see
 * profile-summary.ts); `BENCH_CPU_PROF_INTERVAL` is its sampling interval in µs (V8's default: 1,000).
 */
const profileFlags = () => {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return [];
  const interval = process.env.BENCH_CPU_PROF_INTERVAL;
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(interval ? [`--cpu-prof-interval=${interval}`] : [])];
};

/** Polls `url` until it answers `ok`, within `timeoutMs`. */
async function waitForHttp(url: string, ok: (status: number) => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer';
  while (performance.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (ok(response.status)) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

/**
 * `src/main.ts` in a child, the way `npm start` runs it, on Postgres and Redis (or, without a
 * database URL, on the embedded defaults: PGlite in memory, in-process pub/sub), with default
 * settings and `env` on top. `BENCH_SWITCHYARD_CONFIG=<file>` gives every such gateway that
 * config file (SWITCHYARD_CONFIG), to measure a setting: e.g. `chat: { deltaWindowMs: 0 }`.
 */
export async function startSwitchyard(
  databaseUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<Gateway> {
  const stores: Record<string, string> = databaseUrl
    ? { DATABASE_URL: databaseUrl, REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' }
    : { DATA_DIR: 'memory://' };
  const child = startChild({
    script: 'src/main.ts',
    tsx: true,
    nodeFlags: profileFlags(),
    readyPattern: /running at (\S+)/,
    readyTimeoutMs: 60_000,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      ...stores,
      OLLAMA_HOST: 'http://127.0.0.1:9',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      SHUTDOWN_TIMEOUT_MS: '2000',
      ...(process.env.BENCH_SWITCHYARD_CONFIG ? { SWITCHYARD_CONFIG: process.env.BENCH_SWITCHYARD_CONFIG } : {}),
      ...env,
    },
  });
  const url = await child.ready;
  await waitForHttp(new URL('/health/ready', url).toString(), (status) => status === 200, 60_000);
  return { child, url };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** bench/peers/bare-proxy.ts in front of `upstreamUrl`: what node:http alone adds (the floor row). */
export async function startBareProxy(upstreamUrl: string): Promise<Gateway> {
  const child = startChild({
    script: 'bench/peers/bare-proxy.ts',
    args: [upstreamUrl],
    tsx: true,
    nodeFlags: profileFlags(),
    env: { NODE_ENV: 'production' },
  });
  return { child, url: `${await child.ready}/v1` };
}

/** Portkey's own bin (`gateway --port=N --headless`), bound to 127.0.0.1 by the probe preload. */
export async function startPortkey(): Promise<Gateway> {
  const port = await freePort();
  const child = startChild({
    script: 'node_modules/@portkey-ai/gateway/build/start-server.js',
    args: [`--port=${port}`, '--headless'],
    nodeFlags: profileFlags(),
    readyPattern: /(running)/,
    env: { BENCH_LOOPBACK_ONLY: '1', NODE_ENV: 'production' },
  });
  await child.ready;
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(origin, (status) => status < 500, 15_000);
  return { child, url: `${origin}/v1` };
}
