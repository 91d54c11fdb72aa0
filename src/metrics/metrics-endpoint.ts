import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { routeLabel } from './http-route.js';
import type { Metrics } from './metrics.js';

/**
 * Serves `GET /metrics` (Prometheus text). With a token, only `Authorization: Bearer <token>` gets
 * it; anything else gets 401 with a plain body. Returns false for other paths (the caller goes on).
 */
export function metricsEndpoint(metrics: Metrics, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if (routeLabel(request.url) !== '/metrics') return false;
    if (expected && !bearerMatches(request.headers.authorization, expected)) {
      response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
      response.end('Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>\n');
      return true;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
      response.end('Method not allowed\n');
      return true;
    }
    metrics.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Metrics could not be collected\n');
      },
    );
    return true;
  };
}

/** Counts every request by route and status once its response closes (finished, or the client went away). */
export function withHttpMetrics(listener: RequestListener, metrics: Metrics): RequestListener {
  return (request, response) => {
    const route = routeLabel(request.url);
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      metrics.httpRequest(route, response.statusCode);
    };
    // `finish` when the response went out whole; `close` alone when the client went away first.
    response.once('finish', count);
    response.once('close', count);
    listener(request, response);
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  if (!header || header.length > 1024) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}
