import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';
import { noteViewer } from '../http/access-record.js';
import { watchCredential } from '../http/credential-watch.js';
import type { Authenticator } from '../policy/authenticator.js';
import { type ApiScope, forbidden } from '../policy/scopes.js';
import { hasScope, type Viewer } from '../policy/viewer.js';

/**
 * The viewer of a REST request, by the same rules as GraphQL (`Authorization: Bearer`, the
 * loopback default when no keys exist), holding `scope`. Throws AppError UNAUTHENTICATED or FORBIDDEN.
 * `authorization` overrides the header (Anthropic's `x-api-key` arrives as `Bearer <key>`).
 */
export async function authenticateRest(
  auth: Authenticator,
  request: IncomingMessage,
  scope: ApiScope,
  authorization: string | undefined = request.headers.authorization,
): Promise<Viewer> {
  const viewer = await auth.authenticate(authorization, request.headers.host);
  noteViewer(request, viewer);
  if (!hasScope(viewer, scope)) throw forbidden(scope);
  return viewer;
}

/** A REST call's signal, which also ends when the caller's credential does. */
export interface CallSignal {
  /** Aborts when the client goes away, or when the viewer's key is revoked or its credential expires. */
  signal: AbortSignal;
  /** The UNAUTHENTICATED error to answer with once the credential ended; undefined until then. */
  revoked(): AppError | undefined;
  /** Stops watching the credential and the client (the call ended). */
  stop(): void;
}

/**
 * A running call stops when its key is revoked (on any instance) or its credential expires, as
 * GraphQL subscriptions do: a stream is not a way around either.
 */
export function callSignal(auth: Pick<Authenticator, 'onRevoked'>, viewer: Viewer, client: AbortSignal): CallSignal {
  if (!viewer.apiKeyId && !viewer.expiresAt) return { signal: client, revoked: () => undefined, stop: () => {} };
  const controller = new AbortController();
  let ended: AppError | undefined;
  const onClientGone = () => controller.abort(client.reason);
  if (client.aborted) onClientGone();
  else client.addEventListener('abort', onClientGone, { once: true });
  const stopWatching = watchCredential(auth, viewer, (reason) => {
    ended = new AppError('UNAUTHENTICATED', `The call was stopped: ${reason}`);
    controller.abort(ended);
  });
  return {
    signal: controller.signal,
    revoked: () => ended,
    stop() {
      stopWatching();
      client.removeEventListener('abort', onClientGone);
    },
  };
}
