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

interface CredentialEnd {
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

/** Passes `source` through until `end` resolves; then one UNAUTHENTICATED result, and done. */
function endWhenInvalid(
  source: AsyncIterable<ExecutionResult>,
  end: CredentialEnd,
): AsyncIterableIterator<ExecutionResult> {
  const upstream = source[Symbol.asyncIterator]();
  const refusal = end.ended.then((reason) => ({ reason }));
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    end.stop();
    await upstream.return?.();
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return { done: true, value: undefined };
      const step = await Promise.race([upstream.next(), refusal]);
      if ('reason' in step) {
        await finish();
        const error = new GraphQLError(step.reason, { extensions: { code: 'UNAUTHENTICATED' } });
        return { done: false, value: { errors: [error] } };
      }
      if (step.done) await finish();
      return step;
    },
    async return() {
      await finish();
      return { done: true, value: undefined };
    },
  };
}
