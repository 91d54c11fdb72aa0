import { holdOpen, type LoadOptions, runLoad } from './chat-load.js';
import type { ChatPath } from './chat-paths.js';
import { type ChatRow, cpuOf, gatewayTtft, type MemoryRow, perStream, splitTtft } from './chat-rows.js';
import { cpuMeter } from './peers/cpu.js';
import type { FakeUpstream } from './peers/gateways.js';
import { summarise } from './stats.js';

export interface PhaseContext {
  fake: FakeUpstream;
  databaseUrl: string;
  load: LoadOptions;
}

/** A short run; resolves with why, when the path fails every request (and so cannot be measured). */
export async function warmUp(path: ChatPath, prompt: string, load: LoadOptions): Promise<string | undefined> {
  const client = await path.connect(50, prompt).catch((error: Error) => error);
  if (client instanceof Error) return client.message;
  try {
    const result = await runLoad(200, 50, client.open, load);
    return result.errors === result.requests ? JSON.stringify(result.errorSamples) : undefined;
  } finally {
    await client.close();
  }
}

/** `requests` streams, `concurrency` at a time, through `path`, after a warm-up on the same sockets. */
export async function measurePhase(
  ctx: PhaseContext,
  path: ChatPath,
  concurrency: number,
  requests: number,
  prompt: string,
): Promise<ChatRow> {
  const client = await path.connect(concurrency, prompt);
  try {
    // At full concurrency, so that every keep-alive connection and pool is open before measuring.
    await runLoad(Math.min(requests, Math.max(concurrency, 100)), concurrency, client.open, ctx.load);
    await ctx.fake.arrivals();
    path.child?.takeLog();
    const pids: Record<string, number> = { client: process.pid, fake: ctx.fake.child.pid };
    if (path.child) pids.gateway = path.child.pid;
    const meter = cpuMeter(pids);
    const since = new Date();
    const result = await runLoad(requests, concurrency, client.open, ctx.load);
    const cpu = cpuOf(meter(), result.wallMs, result.requests);
    const row: ChatRow = {
      path: path.name,
      concurrency,
      requests: result.requests,
      ttftMs: summarise(result.ttftMs),
      split: splitTtft(result, await ctx.fake.arrivals()),
      tokensPerSecond: (result.tokens / result.wallMs) * 1_000,
      wallMs: result.wallMs,
      cpu,
      errors: result.errors,
      errorSamples: result.errorSamples,
    };
    if (path.name === 'switchyard') row.serverTtftMs = await gatewayTtft(ctx.databaseUrl, since);
    if (path.child) row.gatewayLog = path.child.takeLog();
    return row;
  } finally {
    await client.close();
  }
}

/** Streams opened at a time while building up the held-open set. */
const HOLD_BATCH = 100;

/**
 * Memory of the gateway process (after GC) before and while `count` streams are held open by a
 * slow upstream; then the upstream drops them all and the streams are let go.
 */
export async function measureMemory(
  ctx: PhaseContext,
  path: ChatPath,
  count: number,
  prompt: string,
  tokenDelayMs: number,
): Promise<MemoryRow> {
  const child = path.child;
  if (!child) throw new Error(`${path.name} has no process to measure`);
  const client = await path.connect(count, prompt);
  await ctx.fake.fault({ tokenDelayMs });
  try {
    const baseline = await child.memory();
    child.takeLog();
    const held = await holdOpen(count, HOLD_BATCH, client.open, 60_000);
    const loaded = await child.memory();
    const gatewayLog = child.takeLog();
    await ctx.fake.restart();
    await held.release(20_000);
    return {
      path: path.name,
      streams: count,
      open: held.open,
      ended: held.ended,
      rampMs: held.rampMs,
      baseline,
      loaded,
      perStreamKiB: perStream(baseline, loaded, held.open),
      errorSamples: held.errorSamples,
      gatewayLog,
    };
  } finally {
    await ctx.fake.clear();
    await ctx.fake.arrivals();
    await client.close();
  }
}
