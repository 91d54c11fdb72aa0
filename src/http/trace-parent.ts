import type { IncomingMessage } from 'node:http';

/** W3C Trace Context `traceparent`: version 00 (or a later one, read by its first four fields). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZEROS_32 = '0'.repeat(32);
const ZEROS_16 = '0'.repeat(16);

/**
 * The trace id of a request's `traceparent` header when it is valid, else undefined: the access
 * log's default until tracing gives it the span's own trace id.
 *
 * @example traceIdFromHeaders(request) // '4bf92f3577b34da6a3ce929d0e0e4736'
 */
export function traceIdFromHeaders(request: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = request.headers.traceparent;
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId] = match as unknown as [string, string, string, string];
  if (version === 'ff' || (version === '00' && header.trim().length !== 55)) return undefined;
  if (traceId === ZEROS_32 || parentId === ZEROS_16) return undefined;
  return traceId;
}
