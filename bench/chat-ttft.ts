import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadOptions } from './chat-load.js';
import { type ChatPath, directPath, portkeyPath, switchyardPath } from './chat-paths.js';
import { measureMemory, measurePhase, type PhaseContext, warmUp } from './chat-phase.js';
import type { ChatRow, MemoryRow } from './chat-rows.js';
import { startFakeUpstream, startPortkey, startSwitchyard } from './peers/gateways.js';
import { createScratchDatabase, postgresLimits } from './peers/scratch-db.js';
import { integerLevels } from './stats.js';

export interface ChatBenchSettings {
  /** [concurrency, requests] per level, e.g. [[1, 200], [100, 2000], [1000, 3000]]. */
  levels: [concurrency: number, requests: number][];
  /**
   * Levels run again with the upstream pacing its tokens like a real model ([concurrency, requests,
   * ms between tokens]): the closed loop without delay saturates the machine, so what a path adds
   * there is mostly queueing for CPU; paced, the same concurrency leaves CPU to spare and shows the
   * latency a gateway itself adds. The first token is never delayed.
   */
  pacedLevels: [concurrency: number, requests: number, tokenDelayMs: number][];
  /** Content tokens in each reply (the fake echoes the prompt). */
  replyTokens: number;
  /** Streams held open by a slow upstream for the memory measurement. */
  heldStreams: number;
  /** Upstream delay between tokens while streams are held open. */
  heldTokenDelayMs: number;
  load: LoadOptions;
}

export const DEFAULT_SETTINGS: ChatBenchSettings = {
  levels: [
    [1, 200],
    [100, 2_000],
    [1_000, 3_000],
  ],
  pacedLevels: [[100, 2_000, 20]],
  replyTokens: 32,
  heldStreams: 1_000,
  heldTokenDelayMs: 500,
  load: { requestTimeoutMs: 30_000, phaseTimeoutMs: 120_000 },
};

/**
 * DEFAULT_SETTINGS, or a smaller run for trying things out:
 * `BENCH_CHAT_LEVELS=1:20,100:200,1000:1000 BENCH_CHAT_PACED=100:500:20 BENCH_CHAT_HELD=200`
 * (`BENCH_CHAT_PACED=` runs no paced level).
 */
export function settingsFromEnv(env: Record<string, string | undefined> = process.env): ChatBenchSettings {
  const levels = integerLevels(env.BENCH_CHAT_LEVELS, 2) as ChatBenchSettings['levels'] | undefined;
  const pacedLevels = integerLevels(env.BENCH_CHAT_PACED, 3) as ChatBenchSettings['pacedLevels'] | undefined;
  const held = env.BENCH_CHAT_HELD === undefined ? undefined : Number(env.BENCH_CHAT_HELD);
  return {
    ...DEFAULT_SETTINGS,
    levels: levels ?? DEFAULT_SETTINGS.levels,
    pacedLevels: pacedLevels ?? DEFAULT_SETTINGS.pacedLevels,
    heldStreams: held ?? DEFAULT_SETTINGS.heldStreams,
  };
}

export interface ChatBenchResult {
  settings: ChatBenchSettings;
  postgres: { maxConnections: number; inUseAtStart: number };
  rows: ChatRow[];
  memory: MemoryRow[];
  /** Paths left out because every warm-up request failed. */
  skipped: { path: string; reason: string }[];
}

/** The fake echoes `echo: <tag> w1 w2 ...`: a reply of `tokens` word tokens. */
const prompt = (tokens: number) => Array.from({ length: tokens - 2 }, (_, i) => `w${i + 1}`).join(' ');

/**
 * Time to first token and throughput through Switchyard (graphql-ws `chat`) and Portkey, against the
 * same fake upstream called directly, in one run; then memory per stream held open by a slow upstream.
 */
export async function benchChatTtft(
  settings: ChatBenchSettings = DEFAULT_SETTINGS,
  log: (line: string) => void = () => {},
): Promise<ChatBenchResult> {
  const limits = await postgresLimits();
  const fake = await startFakeUpstream();
  const db = await createScratchDatabase();
  const stops: (() => Promise<void>)[] = [() => fake.child.stop(), () => db.drop()];
  try {
    const switchyard = await startSwitchyard(db.url, { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${fake.url}/v1` });
    stops.unshift(() => switchyard.child.stop());
    const portkey = await startPortkey();
    stops.unshift(() => portkey.child.stop());
    log(`fake ${fake.url}, switchyard ${switchyard.url} (pid ${switchyard.child.pid}), portkey ${portkey.url}`);
    const ctx: PhaseContext = { fake, databaseUrl: db.url, load: settings.load };
    const content = prompt(settings.replyTokens);
    const paths: ChatPath[] = [];
    const skipped: ChatBenchResult['skipped'] = [];
    for (const path of [directPath(fake), switchyardPath(switchyard), portkeyPath(portkey, fake)]) {
      const failure = await warmUp(path, content, settings.load);
      if (failure === undefined) paths.push(path);
      else skipped.push({ path: path.name, reason: failure });
      if (failure !== undefined) log(`${path.name} skipped: ${failure}`);
    }

    // First, while the gateways' heaps are still small: RSS only grows, so measure it before the load.
    const memory: MemoryRow[] = [];
    for (const path of paths.filter((p) => p.child)) {
      memory.push(await measureMemory(ctx, path, settings.heldStreams, prompt(400), settings.heldTokenDelayMs));
      log(`memory ${path.name}: ${JSON.stringify(memory.at(-1)?.perStreamKiB)} KiB per stream`);
      await sleep(1_000);
    }

    const rows: ChatRow[] = [];
    for (const [concurrency, requests] of settings.levels) {
      for (const path of paths) {
        const row = await measurePhase(ctx, path, concurrency, requests, content);
        rows.push(row);
        log(`${path.name} c=${concurrency}: ttft p50 ${row.ttftMs.p50.toFixed(2)} ms, errors ${row.errors}`);
      }
    }
    for (const [concurrency, requests, tokenDelayMs] of settings.pacedLevels) {
      await fake.fault({ tokenDelayMs });
      try {
        for (const path of paths) {
          const row = { ...(await measurePhase(ctx, path, concurrency, requests, content)), tokenDelayMs };
          rows.push(row);
          log(`${path.name} c=${concurrency} paced ${tokenDelayMs} ms: ttft p50 ${row.ttftMs.p50.toFixed(2)} ms`);
        }
      } finally {
        await fake.clear();
      }
    }
    return {
      settings,
      postgres: { maxConnections: limits.maxConnections, inUseAtStart: limits.inUse },
      rows: withAdded(rows),
      memory,
      skipped,
    };
  } finally {
    for (const stop of stops) await stop().catch((error) => log(`cleanup: ${(error as Error).message}`));
  }
}

function withAdded(rows: ChatRow[]): ChatRow[] {
  return rows.map((row) => {
    const direct = rows.find(
      (r) => r.path === 'direct' && r.concurrency === row.concurrency && r.tokenDelayMs === row.tokenDelayMs,
    );
    if (!direct || row.path === 'direct') return row;
    return { ...row, addedMs: { p50: row.ttftMs.p50 - direct.ttftMs.p50, p99: row.ttftMs.p99 - direct.ttftMs.p99 } };
  });
}
