/** The `route` label of HTTP requests: a fixed set, so that a scanner's random paths add no series. */
export type RouteLabel =
  | '/graphql'
  | '/v1/chat/completions'
  | '/v1/messages'
  | '/v1/embeddings'
  | '/v1/models'
  | '/health/*'
  | '/metrics'
  | 'other';

const EXACT = new Map<string, RouteLabel>([
  ['/graphql', '/graphql'],
  ['/v1/chat/completions', '/v1/chat/completions'],
  ['/v1/messages', '/v1/messages'],
  ['/v1/embeddings', '/v1/embeddings'],
  ['/v1/models', '/v1/models'],
  ['/metrics', '/metrics'],
]);

/**
 * The route a request URL (path and query, as node:http gives it) counts under.
 *
 * @example routeLabel('/v1/models/gpt-4o?x=1') // '/v1/models'
 */
export function routeLabel(url: string | undefined): RouteLabel {
  if (!url) return 'other';
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  const exact = EXACT.get(path);
  if (exact) return exact;
  if (path.startsWith('/health/')) return '/health/*';
  if (path.startsWith('/v1/models/')) return '/v1/models';
  return 'other';
}
