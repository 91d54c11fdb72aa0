import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { AppError } from '../errors.js';

/** What a 401 must say (RFC 9110): how to authenticate (Anthropic's `x-api-key` is accepted too). */
export const BEARER_CHALLENGE: Readonly<Record<string, string>> = { 'www-authenticate': 'Bearer realm="switchyard"' };

/** An UNAUTHENTICATED failure as HTTP says it: 401 with a Bearer challenge. Anything else as it was. */
export function asHttpAuthError(error: unknown): unknown {
  if (!AppError.isInstance(error) || error.code !== 'UNAUTHENTICATED') return error;
  return new GraphQLError(error.message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: { status: 401, headers: { ...BEARER_CHALLENGE } },
    },
  });
}

/**
 * The credential a WebSocket signs in with: `connection_init`'s `{ authorization: "Bearer ..." }`,
 * else the upgrade request's Authorization header (clients outside browsers can send one).
 */
export function socketAuthorization(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  request: IncomingMessage,
): string | undefined {
  const given = connectionParams?.authorization ?? connectionParams?.Authorization;
  if (typeof given === 'string') return given;
  if (given !== undefined) return '(not a string)';
  return request.headers.authorization;
}

/**
 * Whether a browser on `origin` may open a socket here: no Origin (not a browser), the server's
 * own origin (GraphiQL), or one of CORS_ORIGINS. A page elsewhere must not ride the user's access.
 */
export function isAllowedOrigin(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = request.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
