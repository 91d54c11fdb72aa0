import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import type { Authenticator } from '../policy/authenticator.js';
import type { Viewer } from '../policy/viewer.js';
import { watchCredential } from './credential-watch.js';

/**
 * A subscription (SSE or WebSocket) ends with UNAUTHENTICATED when the key it runs under is
 * revoked on any instance, or when its credential expires: a stream is not a way around either.
 * (A WebSocket is closed with 4403 besides, src/http/websocket.ts.)
 */
export function useRevocableStreams(auth: Pick<Authenticator, 'onRevoked'>): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const viewer = args.contextValue.viewer;
      if (!viewer?.apiKeyId && !viewer?.expiresAt) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(endWhenInvalid(result, credentialEnd(auth, viewer)));
        },
      };
    },
  };
}

export interface CredentialEnd {
  ended: Promise<string>;
  stop(): void;
}

/** Resolves with the reason once the viewer's key is revoked or its credential expires. */
function credentialEnd(auth: Pick<Authenticator, 'onRevoked'>, viewer: Viewer): CredentialEnd {
  let stop = () => {};
  const ended = new Promise<string>((resolve) => {
    stop = watchCredential(auth, viewer, resolve);
  });
  return { ended, stop: () => stop() };
}

/**
 * Passes `source` through until `end` resolves; then one UNAUTHENTICATED result, and done. The
 * end is listened to once for the whole stream: racing it against every event would leave one
 * reaction per event on a promise that usually never settles, for as long as the stream runs.
 */
export function endWhenInvalid(
  source: AsyncIterable<ExecutionResult>,
  end: CredentialEnd,
): AsyncIterableIterator<ExecutionResult> {
  const upstream = source[Symbol.asyncIterator]();
  let reason: string | undefined;
  /** Settles the `next` waiting on the source when the credential ends first. */
  let interrupt: ((value: { reason: string }) => void) | undefined;
  void end.ended.then((why) => {
    reason = why;
    interrupt?.({ reason: why });
  });
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    end.stop();
    await upstream.return?.();
  };
  const refuse = (why: string): IteratorResult<ExecutionResult> => {
    // Not awaited: a source waiting on its next event returns only once that event comes.
    finish().catch(() => {});
    const error = new GraphQLError(why, { extensions: { code: 'UNAUTHENTICATED' } });
    return { done: false, value: { errors: [error] } };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return { done: true, value: undefined };
      if (reason !== undefined) return refuse(reason);
      const step = await new Promise<IteratorResult<ExecutionResult> | { reason: string }>((resolve, reject) => {
        interrupt = resolve;
        upstream.next().then(resolve, reject);
      });
      interrupt = undefined;
      if ('reason' in step) return refuse(step.reason);
      if (step.done) await finish();
      return step;
    },
    async return() {
      await finish();
      return { done: true, value: undefined };
    },
  };
}
