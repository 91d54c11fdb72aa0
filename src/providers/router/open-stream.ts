import type { TimeoutPolicy } from 'cockatiel';
import { ProviderError } from '../provider-error.js';
import type { StreamPart } from '../types.js';
import { classifyError, timeoutError, toProviderError } from './classify-error.js';
import { nextPart, TIMED_OUT } from './next-part.js';
import type { RequestScope } from './request-scope.js';
import type { TrackedCall } from './tracked-call.js';
import type { Deployment, RoutedChatRequest } from './types.js';

/** A deployment that has answered: its first part (text, or the finish of an empty reply) and the rest. */
export interface OpenedStream {
  deployment: Deployment;
  first: Extract<StreamPart, { type: 'text-delta' | 'finish' }>;
  iterator: AsyncIterator<StreamPart>;
  /** Aborts this upstream call only. */
  abort(): void;
  call: TrackedCall;
}

/** A stream that stops without `finish` or `error` was cut: treat it as a (retryable) upstream failure. */
export function endedEarly(provider: string): ProviderError {
  return new ProviderError({
    provider,
    code: 'UPSTREAM_ERROR',
    message: `${provider} ended the stream without a finish`,
  });
}

/**
 * Ends an opened upstream call that nobody will read further; a no-op for the call once settled.
 * A call that finished has read its whole response: aborting it would only cost an exception and
 * its events, so it is just closed.
 */
export function releaseStream(opened: OpenedStream, finished = false): void {
  if (!finished) opened.abort();
  opened.iterator.return?.().catch(() => {});
  opened.call.abandoned();
}

/** Settles the call by what the failure says about the deployment. */
export function settleFailure(call: TrackedCall, error: ProviderError): void {
  const kind = classifyError(error);
  if (kind === 'cancelled' || kind === 'request') call.abandoned();
  else call.failed(error);
}

/**
 * One upstream call up to its first token. Throws a ProviderError (an error part, a timeout, the
 * request's stop reason) so that cockatiel's retry and breaker policies see the failure.
 */
export async function openStream(args: {
  deployment: Deployment;
  request: RoutedChatRequest;
  scope: RequestScope;
  firstTokenLimit: TimeoutPolicy;
  firstTokenMs: number;
  call: TrackedCall;
}): Promise<OpenedStream> {
  const { deployment, request, scope, call } = args;
  const name = deployment.provider.name;
  const controller = new AbortController();
  const abort = () => controller.abort();
  let iterator: AsyncIterator<StreamPart> | undefined;
  try {
    if (scope.signal.aborted) throw scope.stopError(name);
    iterator = deployment.provider
      .stream({
        model: deployment.model,
        messages: request.messages,
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        signal: AbortSignal.any([scope.signal, controller.signal]),
      })
      [Symbol.asyncIterator]();
    const result = await nextPart(args.firstTokenLimit, iterator, scope.signal);
    if (result === TIMED_OUT) throw timeoutError(name, `${name} sent no first token within ${args.firstTokenMs} ms`);
    if (result.done) throw endedEarly(name);
    const part = result.value;
    if (part.type === 'error') throw part.error;
    call.firstToken();
    return { deployment, first: part, iterator, abort, call };
  } catch (raw) {
    abort();
    iterator?.return?.().catch(() => {});
    const error = scope.signal.aborted ? scope.stopError(name) : toProviderError(raw, name);
    settleFailure(call, error);
    throw error;
  }
}
