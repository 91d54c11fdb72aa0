import type { TargetCheck } from './chat-report.js';
import type { PolicyMicroRow } from './policy-micro.js';
import type { PolicyBenchResult, PolicySummaryRow } from './policy-overhead.js';

const num = (n: number | undefined, width = 8, digits = 2) =>
  (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);

/** The issue's budget for what limits and a budget on the key may add to the time to first token. */
export const POLICY_BUDGET_P50_MS = 0.5;

const sameLevel = (a: PolicySummaryRow, b: PolicySummaryRow) =>
  a.deployment === b.deployment &&
  a.transport === b.transport &&
  a.concurrency === b.concurrency &&
  a.tokenDelayMs === b.tokenDelayMs;

/** The tables `npm run bench -- policy` prints. */
export function policyTable(result: PolicyBenchResult, micro: PolicyMicroRow[]): string[] {
  const lines = [
    'limits and budgets: chat TTFT with a plain stored key (none) and one with every limit and both budgets (limits)',
    `two gateways at once, one per key (which key is on which swaps between rounds); conc: chats in flight in all (at 1`,
    `the two take turns, above each has half); medians over ${result.settings.rounds} rounds; gap: ms between upstream tokens (-: none)`,
    'deployment      transport  conc   gap  p50 none  p50 limits  +p50 ms  +to-upstream p50  +gw cpu ms/chat  errors  +p50 by round',
  ];
  for (const row of result.summary.filter((r) => r.variant === 'limits')) {
    const base = result.summary.find((r) => r.variant === 'none' && sameLevel(r, row));
    lines.push(
      [
        row.deployment.padEnd(15),
        row.transport.padEnd(9),
        String(row.concurrency).padStart(5),
        String(row.tokenDelayMs ?? '-').padStart(5),
        num(base?.ttftP50Ms, 9),
        num(row.ttftP50Ms, 11),
        num(row.addedP50Ms, 8),
        num(row.addedToUpstreamP50Ms, 17),
        num(row.addedGatewayCpuMsPerChat, 16),
        String(row.errors + (base?.errors ?? 0)).padStart(7),
        ` ${(row.addedP50ByRoundMs ?? []).map((x) => x.toFixed(2)).join(' ')}`,
      ].join(' '),
    );
  }
  lines.push(
    '',
    'requestsPerMinute N, a burst at once over two instances sharing Postgres and Redis (sendMessage)',
    'refused: RATE_LIMITED on requestsPerMinute / RATE_LIMITED because the store did not answer within its timeout (fail closed)',
    'limit  requests  admitted  refused limit/unavailable  other  by instance (admitted/refused)  burst ms  ledger',
  );
  for (const b of result.bursts) {
    lines.push(
      [
        String(b.requestsPerMinute).padStart(5),
        String(b.requests).padStart(9),
        String(b.admitted).padStart(9),
        `${b.rateLimited}/${b.unavailable}`.padStart(26),
        String(b.otherErrors).padStart(6),
        b.byInstance
          .map((i) => `${i.admitted}/${i.rateLimited}`)
          .join(', ')
          .padStart(31),
        num(b.burstMs, 9, 0),
        String(b.recordedRequests ?? '-').padStart(7),
      ].join(' '),
    );
  }
  lines.push(
    '',
    'admit() + settle() alone, in process, one at a time (stored limits from memory; Redis: the local server): µs',
    'variant          p50     mean  cpu/call',
  );
  for (const m of micro) {
    lines.push(`${m.variant.padEnd(13)} ${num(m.p50Us, 7, 1)} ${num(m.meanUs, 8, 1)} ${num(m.cpuUs, 9, 1)}`);
  }
  const [one, five, fifteen] = result.loadAverage.start;
  lines.push('', `load average at start ${one} ${five} ${fifteen}; run ${result.runSeconds.toFixed(0)} s`);
  return lines;
}

/** The issue's targets; reported, not asserted. */
export function policyTargets(result: PolicyBenchResult): TargetCheck[] {
  const overhead = result.summary
    .filter((r): r is PolicySummaryRow & { addedP50Ms: number } => r.addedP50Ms !== undefined)
    .map((r) => ({
      target: `limits + budgets add <= ${POLICY_BUDGET_P50_MS} ms TTFT p50 (${r.deployment}, ${r.transport}, c=${r.concurrency}${r.tokenDelayMs ? `, paced ${r.tokenDelayMs} ms` : ''})`,
      met: r.addedP50Ms <= POLICY_BUDGET_P50_MS,
      value: `${r.addedP50Ms.toFixed(2)} ms (rounds: ${(r.addedP50ByRoundMs ?? []).map((x) => x.toFixed(2)).join(', ')})`,
    }));
  const exact = result.bursts.map((b) => ({
    target: `requestsPerMinute ${b.requestsPerMinute} admits exactly ${b.requestsPerMinute} of ${b.requests} at once over two instances, the rest RATE_LIMITED`,
    met: b.admitted === b.requestsPerMinute && b.rateLimited + b.unavailable === b.requests - b.admitted,
    value: `${b.admitted} admitted, ${b.rateLimited} RATE_LIMITED on the limit, ${b.unavailable} on a store that did not answer in time, ${b.otherErrors} other, in ${b.burstMs.toFixed(0)} ms`,
  }));
  return [...overhead, ...exact];
}
