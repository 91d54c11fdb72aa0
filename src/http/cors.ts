import type { Plugin } from 'graphql-yoga';
import { PREFLIGHT_HEADERS } from './csrf-prevention.js';

/** What yoga's `cors` option answers for one request: the CORS headers to add, or none at all. */
export type CorsDecision =
  | false
  | {
      origin: string;
      credentials: true;
      methods: string[];
      allowedHeaders: string[];
      maxAge: number;
    };

/** The headers a GraphQL client in a browser sends: its key, a request id, the CSRF preflight headers. */
const ALLOWED_HEADERS = ['content-type', 'accept', 'authorization', 'x-request-id', ...PREFLIGHT_HEADERS];
/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 7200). */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * yoga's `cors` option: a page on one of CORS_ORIGINS gets its own origin back, with credentials;
 * any other origin gets no CORS header at all, so the browser keeps the answer from it. Never `*`,
 * never an echo of an origin that is not listed. Requests without `Origin` (curl, servers) and
 * same-origin ones (GraphiQL) need no CORS headers.
 *
 * @example createYoga({ cors: corsPolicy(['https://app.example.com']) })
 */
export function corsPolicy(allowedOrigins: readonly string[]): (request: Request) => CorsDecision {
  const allowed = new Set(allowedOrigins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) return false;
    return {
      origin,
      credentials: true,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ALLOWED_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_S,
    };
  };
}

/**
 * `Vary: Origin` on every answer: whether it carries CORS headers depends on the Origin, so a cache
 * must not hand one origin's answer to another.
 */
export function useVaryOnOrigin(): Plugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary');
      if (
        !vary
          ?.toLowerCase()
          .split(/\s*,\s*/)
          .includes('origin')
      ) {
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
      }
    },
  };
}
