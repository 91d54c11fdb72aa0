import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';

/**
 * The REST endpoints (OpenAI's and Anthropic's wire formats) beside GraphQL on one port. They
 * are served straight from node:http, before Yoga: this is the hot path gateways are compared on.
 * Each API family shapes its own errors (see its routes), so this layer only dispatches.
 */
export interface RestRequest {
  method: string;
  /** The path without its query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Path parameters of the route's pattern (`/v1/models/:id` gives `id`), decoded. */
  params: Record<string, string>;
  url: URL;
  raw: IncomingMessage;
  /** Aborts when the client goes away before the response ended. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
}

export interface RestRoute {
  method: 'GET' | 'POST';
  /** Segments, with `:name` for a parameter: `/v1/models/:id`. */
  pattern: string;
  handle(request: RestRequest, response: ServerResponse): Promise<void>;
}

export interface RestFamily {
  /** Paths under it belong to this family (`/v1/messages` to Anthropic's), for its 404 and 405. */
  owns(path: string): boolean;
  routes: RestRoute[];
  /** This family's shape of an error that is not a route's own (no such path, wrong method, a throw). */
  fail(response: ServerResponse, status: number, message: string): void;
}

/** Returns a listener that serves the families' paths and hands every other request to `next`. */
export function createRestApi(
  families: readonly RestFamily[],
  next: (request: IncomingMessage, response: ServerResponse) => void,
  logger: Logger,
): (request: IncomingMessage, response: ServerResponse) => void {
  const compiled = families.flatMap((family) =>
    family.routes.map((route) => ({ family, route, segments: route.pattern.split('/') })),
  );
  return (raw, response) => {
    const url = raw.url ?? '/';
    if (!url.startsWith('/v1/')) return next(raw, response);
    const receivedAt = performance.now();
    const parsed = new URL(url, 'http://localhost');
    const path = parsed.pathname;
    const family = families.find((f) => f.owns(path));
    if (!family) return next(raw, response);
    const segments = path.split('/');
    let methodMismatch = false;
    for (const entry of compiled) {
      if (entry.family !== family) continue;
      const params = match(entry.segments, segments);
      if (!params) continue;
      if (entry.route.method !== raw.method) {
        methodMismatch = true;
        continue;
      }
      const controller = new AbortController();
      // The response closes early only when the client went away (or the server is closing it).
      response.once('close', () => {
        if (!response.writableFinished) controller.abort();
      });
      const request: RestRequest = {
        method: raw.method,
        path,
        params,
        url: parsed,
        raw,
        signal: controller.signal,
        receivedAt,
      };
      entry.route.handle(request, response).catch((error: unknown) => {
        // Masked to the client (no driver or stack text), kept in the log.
        logger.error('REST request failed unexpectedly', { error, method: raw.method, path });
        if (response.headersSent) response.destroy(error instanceof Error ? error : undefined);
        else family.fail(response, 500, 'The server could not handle this request');
      });
      return;
    }
    if (methodMismatch) family.fail(response, 405, `${raw.method} is not allowed on ${path}`);
    else family.fail(response, 404, `No route ${raw.method} ${path}`);
  };
}

function match(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as string;
    const got = segments[i] as string;
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return null;
      }
      if (got === '') return null;
    } else if (want !== got) return null;
  }
  return params;
}

/**
 * Reads a JSON body of at most `maxBytes`. Returns the parsed value, or an error message
 * (too large, not JSON) for the family to shape. The declared length was checked before.
 */
export async function readJsonBody(
  request: IncomingMessage,
  maxBytes: number,
): Promise<{ ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      return { ok: false, status: 413, message: `The request body may be at most ${maxBytes} bytes` };
    chunks.push(chunk);
  }
  if (size === 0) return { ok: false, status: 400, message: 'The request needs a JSON body' };
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'The request body is not valid JSON' };
  }
}
