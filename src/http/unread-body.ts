import type { IncomingMessage, ServerResponse } from 'node:http';

/** After answering a request whose body it did not read, how long the server discards the rest before closing. */
const UNREAD_BODY_GRACE_MS = 2_000;

/**
 * Once `response` is sent, whatever of `request`'s body has not arrived is discarded, not
 * buffered, for a moment (closing at once could reset the connection before the client read the
 * answer), then the connection closes, so a slow sender cannot hold it open. A body that ends
 * within the grace leaves the connection usable (keep-alive).
 */
export function discardUnreadBody(request: IncomingMessage, response: ServerResponse): void {
  response.once('finish', () => {
    if (request.complete) return;
    const socket = request.socket;
    if (!socket) return;
    const timer = setTimeout(() => socket.destroy(), UNREAD_BODY_GRACE_MS).unref();
    request.once('end', () => clearTimeout(timer));
    request.resume();
  });
}
