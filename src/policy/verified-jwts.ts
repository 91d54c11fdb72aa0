import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type JwtIdentity, type JwtVerifier, MAX_JWT_LENGTH } from './jwt.js';

/** The longest a verified token is trusted without checking its signature again. */
export const REMEMBER_VERIFIED_MS = 60_000;
const MAX_REMEMBERED = 10_000;

export interface RememberOptions {
  max?: number;
  now?: () => number;
}

/**
 * `verify`, remembering each token it accepted until the token's `exp` or for a minute, whichever
 * comes first: a web app sends the same token with every request, and checking an HS256 signature
 * with jose costs 50-130 µs of CPU each time (a key the identity provider withdraws still stops
 * its tokens within the minute). Refusals are not remembered; tokens are kept by their SHA-256.
 */
export function rememberVerified(
  verify: JwtVerifier,
  { max = MAX_REMEMBERED, now = Date.now }: RememberOptions = {},
): JwtVerifier {
  const verified = new LRUCache<string, { identity: JwtIdentity; until: number }>({ max });
  return async (token) => {
    if (token.length > MAX_JWT_LENGTH) return verify(token);
    const key = createHash('sha256').update(token).digest('base64');
    const hit = verified.get(key);
    if (hit && now() < hit.until) return hit.identity;
    verified.delete(key);
    const identity = await verify(token);
    verified.set(key, { identity, until: Math.min(identity.expiresAt.getTime(), now() + REMEMBER_VERIFIED_MS) });
    return identity;
  };
}
