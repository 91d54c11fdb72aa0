import { randomUUID } from 'node:crypto';

/** What a client may choose as its request id: 1-128 of letters, digits, `_`, `.`, `:` and `-`. */
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The request id of a request (HTTP, or a WebSocket's upgrade request): the client's `x-request-id` when it
 * has a safe shape (it is echoed in errors and logged), else a new UUID. yoga 5 has no request-id
 * plugin, and the one on its main branch keeps any header without control characters.
 *
 * @example requestIdFrom(request.headers.get('x-request-id'))
 */
export function requestIdFrom(header: string | null | undefined): string {
  return header && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}
