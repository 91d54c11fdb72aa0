import type { IncomingMessage, ServerResponse } from 'node:http';
import { noteCode } from '../http/access-record.js';
import { discardUnreadBody } from '../http/unread-body.js';
import type { Logger } from '../logger.js';
import { type Tracing, tracingOff } from '../tracing/index.js';
import { startRestSpan } from './rest-span.js';

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
  /**
   * Reads the JSON body (at most `maxBytes`) under the server's body rules: a JSON Content-Type,
   * a deadline, a share of the bytes all requests may hold at once, UTF-8, bounded nesting. A
   * failure leaves the rest of the body unread and the connection to close after the answer.
   */
  readJson(maxBytes: number): Promise<BodyResult>;
}

export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 408 | 413 | 429; message: string; retryAfterMs?: number };

/** How request bodies are read (the config file's `rest`). */
export interface RestBodyOptions {
  /** How long a request body may take to arrive once the route starts reading it (slow clients). */
  bodyTimeoutMs: number;
  /** Body bytes every request being read may hold in memory together; a request past it is a 429. */
  maxBodyBytesInFlight: number;
}

export const DEFAULT_REST_BODY_OPTIONS: RestBodyOptions = {
  bodyTimeoutMs: 60_000,
  maxBodyBytesInFlight: 64 * 1024 * 1024,
};

/** Deepest nesting of arrays and objects a body may have: JSON schemas nest far less; deeper only costs. */
export const MAX_JSON_DEPTH = 64;

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
  bodyOptions: RestBodyOptions = DEFAULT_REST_BODY_OPTIONS,
  tracing: Tracing = tracingOff,
): (request: IncomingMessage, response: ServerResponse) => void {
  const budget: BodyBudget = { max: bodyOptions.maxBodyBytesInFlight, used: 0 };
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
    // Answered before its body arrived (refused, too large, too slow, no such route).
    discardUnreadBody(raw, response);
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
        async readJson(maxBytes) {
          // No `Connection: close` on a refusal: node would then reset the connection at once,
          // often before the client read the answer; the 'finish' handler above closes it.
          return readJsonBody(raw, maxBytes, { timeoutMs: bodyOptions.bodyTimeoutMs, budget });
        },
      };
      const handle = () => entry.route.handle(request, response);
      const handled = tracing.tracer
        ? startRestSpan(tracing, tracing.tracer, entry.route, raw, response, handle)
        : handle();
      handled.catch((error: unknown) => {
        // Masked to the client (no driver or stack text), kept in the log.
        logger.error('REST request failed unexpectedly', { error, method: raw.method, path });
        noteCode(raw, 'INTERNAL_SERVER_ERROR');
        if (response.headersSent) response.destroy(error instanceof Error ? error : undefined);
        else family.fail(response, 500, 'The server could not handle this request');
      });
      return;
    }
    noteCode(raw, methodMismatch ? 'BAD_USER_INPUT' : 'NOT_FOUND');
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

/** The body bytes held by requests being read, against the server's bound. */
export interface BodyBudget {
  max: number;
  used: number;
}

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i;

/**
 * Reads a JSON body of at most `maxBytes`, refusing as early as it can: a Content-Type that is
 * not JSON before reading, a declared length over the bound before reading, the bound passed
 * while reading (a chunked body), the deadline passed, the shared `budget` used up by bytes that
 * arrived (not by declared lengths: a slow sender declaring a large body would hold room it never
 * fills, and a few could keep every other large body out). Then the
 * bytes must be UTF-8 and nest at most MAX_JSON_DEPTH deep before JSON.parse sees them. On a
 * failure the rest of the body is left flowing to nowhere (never buffered).
 */
export function readJsonBody(
  request: IncomingMessage,
  maxBytes: number,
  options: { timeoutMs?: number; budget?: BodyBudget } = {},
): Promise<BodyResult> {
  const type = request.headers['content-type'];
  if (type !== undefined && !JSON_TYPE.test(type)) {
    return Promise.resolve({
      ok: false,
      status: 400,
      message: 'The request body must be JSON (Content-Type: application/json)',
    });
  }
  const tooLarge = { ok: false, status: 413, message: `The request body may be at most ${maxBytes} bytes` } as const;
  const declared = request.headers['content-length'];
  if (declared !== undefined && !(Number(declared) <= maxBytes)) return Promise.resolve(tooLarge);
  const { budget } = options;
  let held = 0;
  /** Takes `bytes` more of the shared budget; false when they do not fit. */
  const hold = (bytes: number) => {
    if (!budget) return true;
    if (budget.used + bytes > budget.max) return false;
    budget.used += bytes;
    held += bytes;
    return true;
  };
  const busy = {
    ok: false,
    status: 429,
    message: 'The server is reading too many large request bodies right now; try again shortly',
    retryAfterMs: 1_000,
  } as const;

  return new Promise<BodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              finish({
                ok: false,
                status: 408,
                message: `The request body did not arrive within ${options.timeoutMs} ms`,
              }),
            options.timeoutMs,
          );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return finish(tooLarge);
      if (size > held && !hold(size - held)) return finish(busy);
      chunks.push(chunk);
    };
    const onEnd = () => finish(parseJson(chunks, size));
    const onGone = () => finish({ ok: false, status: 400, message: 'The request body was cut off' });
    function finish(result: BodyResult) {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('aborted', onGone);
      request.off('error', onGone);
      chunks.length = 0;
      if (budget) budget.used -= held;
      held = 0;
      // What is left of a refused body is discarded as it comes.
      if (!result.ok) request.resume();
      resolve(result);
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('aborted', onGone);
    request.on('error', onGone);
  });
}

function parseJson(chunks: Buffer[], size: number): BodyResult {
  if (size === 0) return { ok: false, status: 400, message: 'The request needs a JSON body' };
  const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, status: 400, message: 'The request body is not valid UTF-8' };
  }
  if (nestingDepth(bytes) > MAX_JSON_DEPTH) {
    return { ok: false, status: 400, message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, status: 400, message: 'The request body is not valid JSON' };
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of `[` and `{` outside strings, stopping once past MAX_JSON_DEPTH. Strings
 * (a base64 image is most of a large body) are skipped with indexOf, not walked byte by byte.
 */
function nestingDepth(bytes: Buffer): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      // The closing quote: the next one not escaped by an odd run of backslashes.
      for (;;) {
        const end = bytes.indexOf(QUOTE, i + 1);
        if (end === -1) return deepest; // unterminated: JSON.parse says so
        let slashes = 0;
        while (bytes[end - 1 - slashes] === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (byte === 0x5b || byte === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > MAX_JSON_DEPTH) return deepest;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return deepest;
}
