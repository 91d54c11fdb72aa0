import type { MicroRow } from './auth-micro.js';
import type { AuthBenchResult, AuthSummaryRow } from './auth-overhead.js';
import type { TargetCheck } from './chat-report.js';

const num = (n: number | undefined, width = 8, digits = 2) =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);

/** The budget for what a credential may add to the time to first token. */
export const AUTH_BUDGET_P50_MS = 0.2;

/** The tables `npm run bench` prints for the authentication benchmark. */
export function authTable(result: AuthBenchResult, micro: MicroRow[]): string[] {
  const lines = [
    'authentication: chat TTFT with no credential (loopback default), a stored API key and an HS256 JWT',
    `requests interleaved over the three servers; medians over ${result.settings.rounds} rounds; gap: ms between upstream tokens (-: none)`,
    'transport  conc   gap  variant   ttft p50  ttft p99  +p50 vs none  +to-upstream p50  gw cpu ms/chat  +cpu ms/chat  errors  +p50 by round',
  ];
  for (const row of result.summary) {
    lines.push(
      [
        row.transport.padEnd(9),
        String(row.concurrency).padStart(5),
        String(row.tokenDelayMs ?? '-').padStart(5),
        row.variant.padEnd(8),
        num(row.ttftP50Ms, 9),
        num(row.ttftP99Ms, 9),
        num(row.addedP50Ms, 13),
        num(row.addedToUpstreamP50Ms, 17),
        num(row.gatewayCpuMsPerChat, 15),
        num(row.addedGatewayCpuMsPerChat, 13),
        String(row.errors).padStart(7),
        ` ${(row.addedP50ByRoundMs ?? []).map((x) => x.toFixed(2)).join(' ')}`,
      ].join(' '),
    );
  }
  lines.push('', 'authenticate() alone, in process (database answered from memory): µs per call');
  for (const m of micro) lines.push(`${m.variant.padEnd(10)} ${num(m.usPerCall, 9)}`);
  const [one, five, fifteen] = result.loadAverage.start;
  lines.push('', `load average at start ${one} ${five} ${fifteen}; run ${result.runSeconds.toFixed(0)} s`);
  return lines;
}

/** The target, per transport and level without pacing; reported, not asserted. */
export function authTargets(result: AuthBenchResult): TargetCheck[] {
  const rows = result.summary.filter(
    (r): r is AuthSummaryRow & { addedP50Ms: number } => r.addedP50Ms !== undefined && r.tokenDelayMs === undefined,
  );
  return rows.map((r) => ({
    target: `${r.variant} over ${r.transport} adds <= ${AUTH_BUDGET_P50_MS} ms TTFT p50 at c=${r.concurrency}`,
    met: r.addedP50Ms <= AUTH_BUDGET_P50_MS,
    value: `${r.addedP50Ms.toFixed(2)} ms (rounds: ${(r.addedP50ByRoundMs ?? []).map((x) => x.toFixed(2)).join(', ')})`,
  }));
}
