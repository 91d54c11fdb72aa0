import type { RestBenchResult } from './rest-bench.js';

const num = (n: number | undefined, width = 8, digits = 2) =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);

/** The tables `npm run bench -- rest` prints. */
export function restTable(result: RestBenchResult): string[] {
  const { ttftSettings: t, stallSettings: s } = result;
  const lines = [
    ...result.skipped.map((x) => `SKIPPED ${x.path}: every warm-up request failed: ${x.reason}`),
    `REST hot path: TTFT, stamped upstream pacing ${t.tokens} tokens ${t.gapMs} ms apart; medians over ${t.rounds} rounds`,
    'added = path - direct in the same round; cpu = gateway process CPU / requests (loaded level only)',
    'path                  conc  ttft p50  ttft p99  added p50  added p99  +to upstream  gw cpu ms/req  errors',
  ];
  for (const row of result.ttft) {
    lines.push(
      [
        row.path.padEnd(20),
        String(row.concurrency).padStart(5),
        num(row.ttftP50Ms, 9),
        num(row.ttftP99Ms, 9),
        num(row.addedP50Ms, 10),
        num(row.addedP99Ms, 10),
        num(row.addedToUpstreamP50Ms, 13),
        num(row.gatewayCpuMsPerRequest, 14, 3),
        String(row.errors).padStart(7),
      ].join(' '),
    );
  }
  if (result.streamCost.length) {
    const c = result.costSettings;
    lines.push(
      '',
      `gateway CPU per stream (ms, all threads), ${c.streams} streams ${c.concurrency} at a time, tokens ${c.gapMs} ms apart; medians over ${c.rounds} rounds`,
      'gateway, then what Postgres and Redis spent meanwhile (every process of theirs on this machine)',
      `path                 ${c.tokens.map((n) => `${n} tokens`.padStart(10)).join(' ')}  per token ${c.tokens.map((n) => `pg ${n}`.padStart(7)).join(' ')} ${c.tokens.map((n) => `redis ${n}`.padStart(9)).join(' ')}  errors`,
    );
    for (const path of [...new Set(result.streamCost.map((row) => row.path))]) {
      const rows = c.tokens.map((n) => result.streamCost.find((row) => row.path === path && row.tokens === n));
      const [first, last] = [rows[0], rows.at(-1)];
      const perToken =
        first && last && last.tokens > first.tokens
          ? (last.cpuMsPerStream - first.cpuMsPerStream) / (last.tokens - first.tokens)
          : Number.NaN;
      const errors = rows.reduce((sum, row) => sum + (row?.errors ?? 0), 0);
      lines.push(
        `${path.padEnd(20)} ${rows.map((row) => num(row?.cpuMsPerStream, 10)).join(' ')} ${num(perToken, 10, 3)} ` +
          `${rows.map((row) => num(row?.postgresCpuMsPerStream, 7)).join(' ')} ${rows.map((row) => num(row?.redisCpuMsPerStream, 9)).join(' ')} ${String(errors).padStart(7)}`,
      );
    }
  }
  if (result.stall.length) {
    lines.push(
      '',
      `stall-free streams: ${s.tokens} tokens ${s.gapMs} ms apart, a stream counts when no token arrives > ${s.lateMs} ms after the upstream wrote it`,
      `largest N at which every stream counted (most of ${s.repeats} repeats); the load generator shares the 2 cores`,
      `burst: N started at once; steady: one started every (stream length / N) for ${s.steadySpans} stream lengths`,
      'path                  arrivals  holds  fails at',
    );
    for (const row of result.stall) {
      lines.push(
        `${row.path.padEnd(20)} ${row.arrivals.padEnd(8)} ${String(row.largestHolding).padStart(6)}  ${String(row.smallestFailing ?? `> ${s.max}`).padStart(8)}`,
      );
    }
  }
  return lines;
}

export interface Target {
  target: string;
  value: string;
  met: boolean;
}

/** The issue's targets, judged on this run. */
export function restTargets(result: RestBenchResult): Target[] {
  const targets: Target[] = [];
  const at = (path: string, conc: number) => result.ttft.find((r) => r.path === path && r.concurrency === conc);
  const portkey100 = at('portkey', 100);
  for (const row of result.ttft) {
    if (!row.path.startsWith('sy-')) continue;
    const rest = row.path.startsWith('sy-rest');
    if (row.concurrency === 1) {
      const [p50, p99] = rest ? [1, 3] : [3, 10];
      targets.push({
        target: `${row.path} c=1 added p50 <= ${p50} ms, p99 <= ${p99} ms`,
        value: `${num(row.addedP50Ms, 0)} / ${num(row.addedP99Ms, 0)} ms`,
        met: (row.addedP50Ms ?? Infinity) <= p50 && (row.addedP99Ms ?? Infinity) <= p99,
      });
    } else if (portkey100 && rest) {
      targets.push({
        target: `${row.path} c=${row.concurrency} cpu/req <= Portkey's, added p50 < Portkey's`,
        value: `${num(row.gatewayCpuMsPerRequest, 0, 3)} vs ${num(portkey100.gatewayCpuMsPerRequest, 0, 3)} ms; ${num(row.addedP50Ms, 0)} vs ${num(portkey100.addedP50Ms, 0)} ms`,
        met:
          (row.gatewayCpuMsPerRequest ?? Infinity) <= (portkey100.gatewayCpuMsPerRequest ?? 0) &&
          (row.addedP50Ms ?? Infinity) < (portkey100.addedP50Ms ?? -Infinity),
      });
    }
  }
  for (const row of result.stall) {
    if (!row.path.startsWith('sy-')) continue;
    const portkey = result.stall.find((r) => r.path === 'portkey' && r.arrivals === row.arrivals)?.largestHolding ?? 0;
    const floor = row.path.startsWith('sy-rest') ? 1_000 : 500;
    targets.push({
      target: `${row.path} stall-free streams (${row.arrivals}) >= ${floor} and above Portkey`,
      value: `${row.largestHolding} vs Portkey ${portkey}`,
      met: row.largestHolding >= floor && row.largestHolding > portkey,
    });
  }
  return targets;
}
