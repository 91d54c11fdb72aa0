import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSwitchyard } from './peers/gateways.js';
import {
  directPath,
  mintKey,
  type RestPath,
  startStampedUpstream,
  switchyardGraphqlPath,
  switchyardRestPath,
} from './rest-paths.js';
import {
  benchRestTtft,
  summariseTtft,
  TTFT_DEFAULTS,
  type TtftPhase,
  type TtftSettings,
  type TtftSummary,
} from './rest-ttft.js';

// `npm run bench -- observability`: what metrics and tracing cost a chat. Two Switchyards side by
// side on the same paced upstream: `obs-on` (metrics recorded, every span exported by OTLP
// http/protobuf to a local receiver) and `obs-off` (METRICS=off, no OTEL endpoint), on the REST
// hot path and GraphQL `chat`; added TTFT (on minus off) and gateway CPU per chat at concurrency
// 100 (replies of 64 tokens there: BENCH_OBS_LOADED_TOKENS). BENCH_OBS_ROUNDS (default 5),
// BENCH_OBS_SERIAL, BENCH_OBS_LOADED (`100:1000`) as in bench/rest-bench.ts.

export interface ObservabilityResult {
  settings: TtftSettings;
  /** Spans and export requests the receiver got from `obs-on`. */
  receiver: { exports: number; bytes: number };
  ttft: TtftSummary[];
  ttftPhases: TtftPhase[];
  /** On against off, per API, at each concurrency: the targets are <= 0.3 ms p50 and <= 5 % CPU at 100. */
  comparison: {
    api: string;
    concurrency: number;
    addedTtftP50Ms: number | undefined;
    cpuMsPerChatOff: number | undefined;
    cpuMsPerChatOn: number | undefined;
    addedCpuPercent: number | undefined;
  }[];
}

export function observabilitySettingsFromEnv(env: Record<string, string | undefined> = process.env): TtftSettings {
  const loaded = env.BENCH_OBS_LOADED?.split(':').map(Number);
  return {
    ...TTFT_DEFAULTS,
    rounds: Number(env.BENCH_OBS_ROUNDS ?? 5),
    serialRequests: Number(env.BENCH_OBS_SERIAL ?? TTFT_DEFAULTS.serialRequests),
    loaded: {
      ...(loaded?.length === 2
        ? { concurrency: loaded[0] ?? 100, requests: loaded[1] ?? 1_000 }
        : TTFT_DEFAULTS.loaded),
      // CPU per chat is read at 100 concurrent replies as long as a model's (64 tokens, 20 ms apart):
      // 6-token replies at 100 saturate this machine's two cores, and CPU per request under
      // saturation swings by tens of percent from round to round.
      tokens: Number(env.BENCH_OBS_LOADED_TOKENS ?? 64),
    },
  };
}

/** An OTLP/HTTP endpoint that only counts what it is sent (the collector's cost is not ours). */
async function startCountingReceiver() {
  const counts = { exports: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    request.on('end', () => {
      counts.exports++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function benchObservability(log: (line: string) => void): Promise<ObservabilityResult> {
  const settings = observabilitySettingsFromEnv();
  const upstream = await startStampedUpstream();
  const receiver = await startCountingReceiver();
  const stops: (() => Promise<void>)[] = [() => upstream.child.stop(), () => receiver.close()];
  try {
    const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${upstream.url}/v1` };
    const off = await startSwitchyard(undefined, { ...env, METRICS: 'off' });
    stops.unshift(() => off.child.stop());
    const on = await startSwitchyard(undefined, {
      ...env,
      METRICS: 'on',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    stops.unshift(() => on.child.stop());
    const [offKey, onKey] = await Promise.all([mintKey(off), mintKey(on)]);
    log(`upstream ${upstream.url}; obs-off ${off.url}; obs-on ${on.url} exporting to ${receiver.url}`);
    const paths: RestPath[] = [
      directPath(upstream),
      switchyardRestPath('rest-obs-off', off, offKey),
      switchyardRestPath('rest-obs-on', on, onKey),
      switchyardGraphqlPath('graphql-obs-off', off, offKey),
      switchyardGraphqlPath('graphql-obs-on', on, onKey),
    ];
    const phases = await benchRestTtft(upstream, paths, settings, log);
    const ttft = summariseTtft(phases);
    const comparison = ['rest', 'graphql'].flatMap((api) =>
      [...new Set(ttft.map((row) => row.concurrency))].map((concurrency) => {
        const row = (state: string) =>
          ttft.find((r) => r.path === `${api}-obs-${state}` && r.concurrency === concurrency);
        const [rowOff, rowOn] = [row('off'), row('on')];
        const added = (
          pick: (p: TtftPhase) => number | undefined,
          difference = (on: number, off: number) => on - off,
        ) => {
          // Per round, on minus off (the same round's phases), then the median.
          const diffs = phases.flatMap((p) => {
            if (p.path !== `${api}-obs-on` || p.concurrency !== concurrency) return [];
            const base = phases.find(
              (b) => b.path === `${api}-obs-off` && b.concurrency === concurrency && b.round === p.round,
            );
            const [a, b] = [pick(p), base && pick(base)];
            return a === undefined || b === undefined || !b ? [] : [difference(a, b)];
          });
          diffs.sort((x, y) => x - y);
          return diffs.length ? diffs[Math.floor(diffs.length / 2)] : undefined;
        };
        return {
          api,
          concurrency,
          addedTtftP50Ms: added((p) => p.ttftMs.p50),
          cpuMsPerChatOff: rowOff?.gatewayCpuMsPerRequest,
          cpuMsPerChatOn: rowOn?.gatewayCpuMsPerRequest,
          // Paired like TTFT: each round's on against the same round's off (rounds differ by more
          // than the effect), as a percentage of off.
          addedCpuPercent: added(
            (p) => p.gatewayCpuMsPerRequest,
            (on, off) => ((on - off) / off) * 100,
          ),
        };
      }),
    );
    return { settings, receiver: { ...receiver.counts }, ttft, ttftPhases: phases, comparison };
  } finally {
    for (const stop of stops) await stop().catch((error) => log(`cleanup: ${(error as Error).message}`));
  }
}

/** The table printed by bench/run.ts, and whether the targets were met. */
export function observabilityTable(result: ObservabilityResult): string[] {
  const fmt = (n: number | undefined, digits = 3) => (n === undefined ? '     -' : n.toFixed(digits).padStart(8));
  const lines = ['api      conc  added TTFT p50 ms  cpu ms/chat off  cpu ms/chat on  added cpu %'];
  for (const row of result.comparison) {
    lines.push(
      `${row.api.padEnd(8)} ${String(row.concurrency).padStart(4)}  ${fmt(row.addedTtftP50Ms).padStart(17)}  ${fmt(row.cpuMsPerChatOff).padStart(15)}  ${fmt(row.cpuMsPerChatOn).padStart(14)}  ${fmt(row.addedCpuPercent, 1).padStart(11)}`,
    );
  }
  lines.push(`receiver: ${result.receiver.exports} OTLP exports, ${result.receiver.bytes} bytes`);
  return lines;
}

export function observabilityTargets(result: ObservabilityResult) {
  const loaded = result.comparison.filter((row) => row.concurrency === result.settings.loaded.concurrency);
  return loaded.map((row) => ({
    api: row.api,
    addedTtftP50Ms: row.addedTtftP50Ms,
    ttftMet: row.addedTtftP50Ms !== undefined && row.addedTtftP50Ms <= 0.3,
    addedCpuPercent: row.addedCpuPercent,
    cpuMet: row.addedCpuPercent !== undefined && row.addedCpuPercent <= 5,
  }));
}
