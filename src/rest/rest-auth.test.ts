import { describe, expect, it } from 'vitest';
import type { Viewer } from '../policy/viewer.js';
import { callSignal } from './rest-auth.js';

const viewer = (over: Partial<Viewer> = {}): Viewer => ({
  userId: 'u1',
  apiKeyId: 'k1',
  scopes: ['CHAT'],
  allowedModels: null,
  via: 'api-key',
  expiresAt: null,
  ...over,
});

/** An authenticator's revocation feed, with the listeners it holds. */
function revocations() {
  const listeners = new Set<(apiKeyId: string) => void>();
  return {
    listeners,
    auth: {
      onRevoked(listener: (apiKeyId: string) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    revoke: (apiKeyId: string) => {
      for (const listener of [...listeners]) listener(apiKeyId);
    },
  };
}

describe('callSignal', () => {
  it("aborts with UNAUTHENTICATED when the call's key is revoked, not another key", () => {
    const feed = revocations();
    const call = callSignal(feed.auth, viewer(), new AbortController().signal);
    feed.revoke('k2');
    expect(call.signal.aborted).toBe(false);
    feed.revoke('k1');
    expect(call.signal.aborted).toBe(true);
    expect(call.revoked()).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('revoked') });
    expect(call.signal.reason).toBe(call.revoked());
  });

  it('aborts when the client goes away, before or after the call started, and then names no revocation', () => {
    const feed = revocations();
    const gone = new AbortController();
    gone.abort();
    expect(callSignal(feed.auth, viewer(), gone.signal).signal.aborted).toBe(true);
    const client = new AbortController();
    const call = callSignal(feed.auth, viewer(), client.signal);
    client.abort();
    expect(call.signal.aborted).toBe(true);
    expect(call.revoked()).toBeUndefined();
  });

  it('lets go of the revocation feed when the call ends', () => {
    const feed = revocations();
    const call = callSignal(feed.auth, viewer(), new AbortController().signal);
    expect(feed.listeners.size).toBe(1);
    call.stop();
    expect(feed.listeners.size).toBe(0);
  });

  it('passes the client signal through for a credential that cannot end (the admin key, the local default)', () => {
    const feed = revocations();
    const client = new AbortController().signal;
    const call = callSignal(feed.auth, viewer({ apiKeyId: null, via: 'admin-key' }), client);
    expect(call.signal).toBe(client);
    expect(feed.listeners.size).toBe(0);
  });
});
