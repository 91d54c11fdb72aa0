import type { ChatRow } from './chat-rows.js';
import type { ChatBenchResult } from './chat-ttft.js';

const num = (n: number | undefined, width = 8, digits = 2) =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);

const gap = (row: ChatRow) => String(row.tokenDelayMs ?? '-').padStart(5);

/** The side-by-side tables `npm run bench` prints for the chat benchmark. */
export function chatTable(result: ChatBenchResult): string[] {
  const lines = [
    ...result.skipped.map((s) => `SKIPPED ${s.path}: every warm-up request failed: ${s.reason}`),
    'chat: time to first token, fake OpenAI upstream (Switchyard: graphql-ws `chat`, Postgres + Redis)',
    'gap: the upstream pauses this many ms between tokens after the first (-: no delay)',
    'path         conc   gap     n  ttft p50  ttft p99  +p50 vs direct  +p99 vs direct    tokens/s  errors',
  ];
  for (const row of result.rows) {
    lines.push(
      [
        row.path.padEnd(10),
        String(row.concurrency).padStart(6),
        gap(row),
        String(row.requests).padStart(5),
        num(row.ttftMs.p50, 9),
        num(row.ttftMs.p99, 9),
        num(row.addedMs?.p50, 15),
        num(row.addedMs?.p99, 15),
        num(row.tokensPerSecond, 11, 0),
        String(row.errors).padStart(7),
      ].join(' '),
    );
  }
  lines.push(
    '',
    'where the time goes: TTFT split where the request reaches the upstream (ms, p50/p99); CPU in cores',
    'path         conc   gap   client->upstream   upstream->client  server ttft   gw cpu ms/req  client  fake  gateway  machine  machine ms/req',
  );
  for (const row of result.rows) {
    const pair = (x: { p50: number; p99: number } | undefined, width: number) =>
      (x ? `${num(x.p50, 0)}/${num(x.p99, 0)}` : '-').padStart(width);
    const cores = (name: string) => num(row.cpu.cores[name], 6);
    lines.push(
      [
        row.path.padEnd(10),
        String(row.concurrency).padStart(6),
        gap(row),
        pair(row.split.toUpstreamMs, 18),
        pair(row.split.upstreamToClientMs, 18),
        pair(row.serverTtftMs, 12),
        num(row.cpu.gatewayMsPerRequest, 15),
        cores('client'),
        cores('fake'),
        num(row.cpu.cores.gateway, 8),
        num(row.cpu.machineCores, 8),
        num(row.cpu.machineMsPerRequest, 15),
      ].join(' '),
    );
  }
  const { heldStreams, heldTokenDelayMs } = result.settings;
  lines.push(
    '',
    `memory per open stream: ${heldStreams} streams held open by a slow upstream (a token every ${heldTokenDelayMs} ms), gateway heap after GC`,
  );
  lines.push('path         open  ended  ramp ms  rss KiB/stream  heap KiB/stream  external KiB/stream  rss MiB loaded');
  for (const m of result.memory) {
    lines.push(
      [
        m.path.padEnd(10),
        String(m.open).padStart(6),
        String(m.ended).padStart(6),
        num(m.rampMs, 8, 0),
        num(m.perStreamKiB.rss, 15, 1),
        num(m.perStreamKiB.heapUsed, 16, 1),
        num(m.perStreamKiB.external, 20, 1),
        num(m.loaded.rss / 2 ** 20, 15, 0),
      ].join(' '),
    );
  }
  return lines;
}

export interface TargetCheck {
  target: string;
  met: boolean;
  value: string;
}

/** The targets, reported (not asserted). */
export function chatTargets(result: ChatBenchResult): TargetCheck[] {
  const at = (path: string, c: number) =>
    result.rows.find((r) => r.path === path && r.concurrency === c && r.tokenDelayMs === undefined);
  const sy = at('switchyard', 100);
  const pk = at('portkey', 100);
  const big = at('switchyard', 1_000);
  const held = result.memory.find((m) => m.path === 'switchyard');
  const f = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toFixed(2)} ms`);
  return [
    { target: 'added TTFT p50 <= 2 ms at c=100', met: (sy?.addedMs?.p50 ?? Infinity) <= 2, value: f(sy?.addedMs?.p50) },
    {
      target: 'added TTFT p99 <= 10 ms at c=100',
      met: (sy?.addedMs?.p99 ?? Infinity) <= 10,
      value: f(sy?.addedMs?.p99),
    },
    {
      target: "added TTFT lower than Portkey's at c=100 (p50 and p99)",
      met:
        sy?.addedMs !== undefined &&
        pk?.addedMs !== undefined &&
        sy.addedMs.p50 < pk.addedMs.p50 &&
        sy.addedMs.p99 < pk.addedMs.p99,
      value: `switchyard ${f(sy?.addedMs?.p50)} / ${f(sy?.addedMs?.p99)}, portkey ${f(pk?.addedMs?.p50)} / ${f(pk?.addedMs?.p99)}`,
    },
    {
      target: '1,000 concurrent streams with no error',
      met: big?.errors === 0 && held?.ended === 0 && held.open === held.streams,
      value: `c=1000 load: ${big?.errors ?? 'n/a'} errors; held: ${held?.open ?? 0}/${held?.streams ?? 0} open, ${held?.ended ?? 0} ended early`,
    },
  ];
}
