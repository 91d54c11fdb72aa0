import pg from 'pg';
import type { LoadResult } from './chat-load.js';
import type { Memory } from './peers/children.js';
import type { CpuSample } from './peers/cpu.js';
import { type LatencySummary, summarise } from './stats.js';

export interface ChatRow {
  path: 'direct' | 'switchyard' | 'portkey';
  concurrency: number;
  /** The upstream's pause between tokens after the first (see ChatBenchSettings.pacedLevels); none when absent. */
  tokenDelayMs?: number;
  requests: number;
  /** Client-side: request sent to first content token. */
  ttftMs: LatencySummary;
  /** This path's TTFT minus the direct path's, at the same concurrency, in the same run. */
  addedMs?: { p50: number; p99: number };
  /**
   * TTFT split at the moment the upstream request reached the fake (same monotonic clock in every
   * process): client to upstream (the gateway's inbound work), upstream to client (fake + way back).
   */
  split: { toUpstreamMs: LatencySummary; upstreamToClientMs: LatencySummary };
  /** Switchyard's own record (messages.ttft_ms): from the resolver starting the send to the first upstream token. */
  serverTtftMs?: { p50: number; p99: number; n: number };
  /** Content tokens delivered to clients per second of wall time. */
  tokensPerSecond: number;
  wallMs: number;
  /**
   * CPU used during the measured phase: in cores (CPU ms per wall ms) per process and for the whole
   * machine (every process, Postgres and Redis included), and in ms per request.
   */
  cpu: {
    cores: Record<string, number>;
    machineCores: number;
    machineMsPerRequest: number;
    gatewayMsPerRequest?: number;
  };
  errors: number;
  errorSamples: Record<string, number>;
  /** Distinct log lines the gateway wrote during the phase (warn and above), with counts. */
  gatewayLog?: Record<string, number>;
}

export interface MemoryRow {
  path: string;
  streams: number;
  /** Streams that had delivered a first token and were still open at the measurement. */
  open: number;
  ended: number;
  rampMs: number;
  baseline: Memory;
  loaded: Memory;
  perStreamKiB: { rss: number; heapUsed: number; external: number };
  errorSamples: Record<string, number>;
  gatewayLog?: Record<string, number>;
}

export function perStream(baseline: Memory, loaded: Memory, open: number): MemoryRow['perStreamKiB'] {
  const per = (key: keyof Memory) => (open > 0 ? (loaded[key] - baseline[key]) / open / 1024 : Number.NaN);
  return { rss: per('rss'), heapUsed: per('heapUsed'), external: per('external') };
}

/** Splits each request's TTFT at its arrival at the fake upstream. */
export function splitTtft(result: LoadResult, arrivals: Record<string, number>): ChatRow['split'] {
  const toUpstream: number[] = [];
  const back: number[] = [];
  for (const t of result.timings) {
    const arrived = arrivals[t.tag];
    if (arrived === undefined) continue;
    toUpstream.push(arrived - t.sentAt);
    back.push(t.firstAt - arrived);
  }
  return { toUpstreamMs: summarise(toUpstream), upstreamToClientMs: summarise(back) };
}

export function cpuOf(sample: CpuSample, wallMs: number, requests: number): ChatRow['cpu'] {
  const cores = Object.fromEntries(Object.entries(sample.byProcess).map(([name, ms]) => [name, ms / wallMs]));
  const gateway = sample.byProcess.gateway;
  return {
    cores,
    machineCores: sample.machine / wallMs,
    machineMsPerRequest: sample.machine / Math.max(1, requests),
    ...(gateway === undefined ? {} : { gatewayMsPerRequest: gateway / Math.max(1, requests) }),
  };
}

/** Percentiles of the TTFT Switchyard itself recorded for the assistant messages created since `since`. */
export async function gatewayTtft(databaseUrl: string, since: Date): Promise<{ p50: number; p99: number; n: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ p50: number; p99: number; n: string }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY ttft_ms) AS p99, count(*) AS n
         FROM messages WHERE role = 'ASSISTANT' AND created_at >= $1 AND ttft_ms IS NOT NULL`,
      [since],
    );
    const row = rows[0];
    return { p50: Number(row?.p50), p99: Number(row?.p99), n: Number(row?.n) };
  } finally {
    await client.end();
  }
}
