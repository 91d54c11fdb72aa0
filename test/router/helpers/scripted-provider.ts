import { ProviderError, type ProviderErrorInit } from '../../../src/providers/provider-error.js';
import type { ChatProvider, ChatRequest, ModelInfo, StreamPart } from '../../../src/providers/types.js';

/** One step of a scripted upstream call. */
export type Step =
  | StreamPart
  | { type: 'delay'; ms: number }
  /** Waits until the call's signal aborts, then yields CANCELLED (like a real adapter). */
  | { type: 'hang' }
  /** Never settles and ignores the signal: a provider that does not honour abort. */
  | { type: 'stuck' };

export interface ScriptedProvider extends ChatProvider {
  readonly calls: ChatRequest[];
  /** Signals of each call, to assert that upstream calls were aborted. */
  readonly signals: AbortSignal[];
  probeError: ProviderError | undefined;
  probeDelayMs: number;
}

export const text = (t: string): StreamPart => ({ type: 'text-delta', text: t });
export const finish = (completionTokens = 1): StreamPart => ({
  type: 'finish',
  usage: { promptTokens: 1, completionTokens },
  finishReason: { unified: 'stop', raw: 'stop' },
});
export const fail = (provider: string, init: Partial<ProviderErrorInit> = {}): StreamPart => ({
  type: 'error',
  error: providerError(provider, init),
});
export const providerError = (provider: string, init: Partial<ProviderErrorInit> = {}) =>
  new ProviderError({ provider, code: 'UPSTREAM_ERROR', message: `${provider} failed`, status: 500, ...init });
export const ok = (reply = 'hello'): Step[] => [text(reply), finish()];

function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * A ChatProvider that plays scripts: call n plays `scripts[n]`, the last script repeats; or a
 * function of the call index.
 */
export function createScriptedProvider(
  name: string,
  scripts: Step[][] | ((call: number) => Step[]),
  kind: ChatProvider['kind'] = 'openai',
  models: string[] = [],
): ScriptedProvider {
  const calls: ChatRequest[] = [];
  const signals: AbortSignal[] = [];
  const scriptFor = (i: number) =>
    typeof scripts === 'function' ? scripts(i) : (scripts[Math.min(i, scripts.length - 1)] ?? []);
  const cancelled = () => new ProviderError({ provider: name, code: 'CANCELLED', message: 'cancelled' });

  const provider: ScriptedProvider = {
    name,
    kind,
    calls,
    signals,
    probeError: undefined,
    probeDelayMs: 0,
    async *stream(request) {
      const index = calls.length;
      calls.push(request);
      if (request.signal) signals.push(request.signal);
      for (const step of scriptFor(index)) {
        if (step.type === 'delay') {
          if (!(await sleep(step.ms, request.signal))) return yield { type: 'error', error: cancelled() };
        } else if (step.type === 'hang') {
          await sleep(1e9, request.signal);
          return yield { type: 'error', error: cancelled() };
        } else if (step.type === 'stuck') {
          await new Promise(() => {});
        } else {
          yield step;
        }
      }
    },
    listModels: async (): Promise<ModelInfo[]> => models.map((id) => ({ id, provider: name })),
    async probe(signal) {
      if (provider.probeDelayMs > 0) await sleep(provider.probeDelayMs, signal);
      if (provider.probeError) throw provider.probeError;
    },
  };
  return provider;
}

/** Drains a stream into its parts. */
export async function collect<T>(parts: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

/** The concatenated text of text-delta parts. */
export const textOf = (parts: ReadonlyArray<{ type: string; text?: string }>) =>
  parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
