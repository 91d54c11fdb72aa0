import type { SearchMode } from '../src/rag/search.js';
import type { SearchPath } from './rag-paths.js';
import { type LatencySummary, measure, summarise } from './stats.js';

export interface RagLatencyRow {
  mode: SearchMode;
  path: string;
  concurrency: number;
  latencyMs: LatencySummary;
  /** Completed searches per second over the measured requests. */
  qps: number;
  /** Mean hits per search (k = 10 at most). */
  hits: number;
}

/** Rounds per level: paths take turns, so drift on the machine spreads evenly over them. */
const ROUNDS = 5;
/**
 * Requests per path (bounded by WARM_UP_MS) before measuring. The GraphQL server is a fresh
 * process: its first couple of thousand searches run at about twice the CPU of later ones while
 * V8 optimises the hot paths, which a short warm-up would measure as the server's cost.
 */
const WARM_UP = 2_000;
const WARM_UP_MS = 8_000;

/**
 * p50/p99 of every path at each concurrency. Each path cycles through the same held-out
 * queries in the same order; the paths take turns in rounds of `requests / ROUNDS` each, a
 * round bounded to `budgetMs / ROUNDS` per path so that a slow path yields fewer samples
 * rather than an unbounded run.
 */
export async function measureLatency(
  paths: SearchPath[],
  queries: string[],
  levels: [concurrency: number, requests: number][],
  budgetMs: number,
): Promise<RagLatencyRow[]> {
  const rows: RagLatencyRow[] = [];
  for (const [concurrency, requests] of levels) {
    const state = paths.map(() => ({ samples: [] as number[], next: 0, hits: 0, busyMs: 0 }));
    const task = (i: number) => async () => {
      const s = state[i] as (typeof state)[number];
      const query = queries[s.next++ % queries.length] as string;
      // not `s.hits += await ...`: that reads s.hits before the await and loses concurrent updates
      const hits = await (paths[i] as SearchPath).run(query);
      s.hits += hits;
    };
    for (const [i] of paths.entries()) await measure(WARM_UP, concurrency, task(i), performance.now() + WARM_UP_MS);
    for (const s of state) {
      s.next = 0;
      s.hits = 0;
    }
    const perRound = Math.ceil(requests / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of state.entries()) {
        const t0 = performance.now();
        const deadline = t0 + budgetMs / ROUNDS;
        s.samples.push(...(await measure(perRound, concurrency, task(i), deadline)));
        s.busyMs += performance.now() - t0;
      }
    }
    for (const [i, s] of state.entries()) {
      const path = paths[i] as SearchPath;
      rows.push({
        mode: path.mode,
        path: path.path,
        concurrency,
        latencyMs: summarise(s.samples),
        qps: (s.samples.length / s.busyMs) * 1000,
        hits: s.hits / s.samples.length,
      });
    }
  }
  return rows;
}
