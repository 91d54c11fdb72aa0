import { isIP } from 'node:net';

/** How callers prove who they are; read from the environment by loadConfig. */
export interface AuthSettings {
  /** SWITCHYARD_ADMIN_KEY: an ADMIN credential that needs no database row. */
  adminKey: string | undefined;
  /** JWT sign-in for web apps that already have an identity provider. */
  jwt: JwtSettings | undefined;
  /** CORS_ORIGINS: the only origins a browser may call from (and open WebSockets from). */
  corsOrigins: readonly string[];
}

export type JwtSettings = ({ kind: 'jwks'; jwksUrl: URL } | { kind: 'secret'; secret: Uint8Array }) & {
  issuer: string | undefined;
  audience: string | undefined;
};

/** An admin key or HS256 secret shorter than this is refused: it would be guessable. */
export const MIN_SECRET_LENGTH = 32;

/**
 * A browser origin as the `Origin` header sends it: scheme, host and port only. Returns the
 * normalised form, or undefined when `value` is not one (a path, a wildcard, another scheme).
 */
export function normaliseOrigin(value: string): string | undefined {
  if (value.includes('*')) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return undefined;
    if (value.replace(/\/$/, '').toLowerCase() !== url.origin.toLowerCase()) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** True when `host` accepts connections from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
}
