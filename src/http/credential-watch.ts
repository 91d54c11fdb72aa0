import type { Authenticator } from '../policy/authenticator.js';
import type { Viewer } from '../policy/viewer.js';

/** setTimeout's largest delay: a credential expiring later is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onEnd` once, with the reason, when the viewer's key is revoked (on any instance) or its
 * credential expires. Returns the function that stops watching.
 */
export function watchCredential(
  auth: Pick<Authenticator, 'onRevoked'>,
  viewer: Viewer,
  onEnd: (reason: string) => void,
): () => void {
  const { apiKeyId, expiresAt } = viewer;
  let timer: NodeJS.Timeout | undefined;
  let unlisten = () => {};
  const stop = () => {
    clearTimeout(timer);
    unlisten();
  };
  const end = (reason: string) => {
    stop();
    onEnd(reason);
  };
  if (apiKeyId) {
    unlisten = auth.onRevoked((revoked) => {
      if (revoked === apiKeyId) end('the API key was revoked');
    });
  }
  if (expiresAt) {
    const check = () => {
      const left = expiresAt.getTime() - Date.now();
      if (left <= 0) end('the credential has expired');
      else timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
    };
    check();
  }
  return stop;
}
