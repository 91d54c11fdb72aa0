import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OpenStream, StreamResult } from './chat-clients.js';

export interface LoadResult {
  requests: number;
  /** TTFT of every request that got a first token, in ms. */
  ttftMs: number[];
  tokens: number;
  errors: number;
  /** Up to five distinct error messages, with counts. */
  errorSamples: Record<string, number>;
  wallMs: number;
  /** When each request that got a first token was sent and got it (monoMs), by its tag. */
  timings: { tag: string; sentAt: number; firstAt: number }[];
}

export interface LoadOptions {
  /** Per request, first byte to end. */
  requestTimeoutMs: number;
  /** No new request starts after this, and running ones are aborted. */
  phaseTimeoutMs: number;
}

function record(result: LoadResult, outcome: StreamResult): void {
  result.requests++;
  if (outcome.ttftMs !== undefined) result.ttftMs.push(outcome.ttftMs);
  if (outcome.firstAt !== undefined) {
    result.timings.push({ tag: outcome.tag, sentAt: outcome.sentAt, firstAt: outcome.firstAt });
  }
  result.tokens += outcome.tokens;
  if (outcome.error === undefined) return;
  result.errors++;
  const key = outcome.error.slice(0, 160);
  if (key in result.errorSamples || Object.keys(result.errorSamples).length < 5) {
    result.errorSamples[key] = (result.errorSamples[key] ?? 0) + 1;
  }
}

/** Runs `total` streams with at most `concurrency` open at once, each to its end. */
export async function runLoad(
  total: number,
  concurrency: number,
  open: OpenStream,
  options: LoadOptions,
): Promise<LoadResult> {
  const result: LoadResult = {
    requests: 0,
    ttftMs: [],
    tokens: 0,
    errors: 0,
    errorSamples: {},
    wallMs: 0,
    timings: [],
  };
  const phase = AbortSignal.timeout(options.phaseTimeoutMs);
  setMaxListeners(0, phase);
  let started = 0;
  const worker = async () => {
    while (started < total && !phase.aborted) {
      started++;
      const signal = AbortSignal.any([phase, AbortSignal.timeout(options.requestTimeoutMs)]);
      record(result, await open(signal));
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  result.wallMs = performance.now() - t0;
  return result;
}

export interface HeldStreams {
  /** Streams that delivered a first token and are still open. */
  open: number;
  /** Streams that ended (in error or not) before the measurement. */
  ended: number;
  errorSamples: Record<string, number>;
  /** Time until every stream had its first token (or ended). */
  rampMs: number;
  /** Waits up to `timeoutMs` for every stream to end, then aborts the rest. */
  release(timeoutMs: number): Promise<void>;
}

/**
 * Opens `count` streams, `batch` at a time: each batch starts once the previous one has delivered
 * its first tokens (or ended), so the measurement is of streams held open, not of a burst of
 * arrivals. Gives up waiting after `timeoutMs` in all.
 */
export async function holdOpen(
  count: number,
  batch: number,
  open: OpenStream,
  timeoutMs: number,
): Promise<HeldStreams> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const state = Array.from({ length: count }, () => ({ first: false, ended: false }));
  const errorSamples: Record<string, number> = {};
  const all: Promise<void>[] = [];
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  for (let from = 0; from < count && performance.now() < deadline; from += batch) {
    const group = state.slice(from, from + batch);
    for (const s of group) {
      const opened = open(controller.signal, () => {
        s.first = true;
      });
      all.push(
        opened.then((outcome) => {
          s.ended = true;
          if (outcome.error !== undefined) {
            const key = outcome.error.slice(0, 160);
            errorSamples[key] = (errorSamples[key] ?? 0) + 1;
          }
        }),
      );
    }
    while (group.some((s) => !s.first && !s.ended) && performance.now() < deadline) await sleep(20);
  }
  const rampMs = performance.now() - t0;
  return {
    open: state.filter((s) => s.first && !s.ended).length,
    ended: state.filter((s) => s.ended).length,
    errorSamples: { ...errorSamples },
    rampMs,
    async release(releaseTimeoutMs) {
      const timer = setTimeout(() => controller.abort(new Error('released')), releaseTimeoutMs);
      await Promise.all(all);
      clearTimeout(timer);
    },
  };
}
