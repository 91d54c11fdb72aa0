import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/**
 * Refuses a request body over `maxBytes` before anything reads it: a declared length above the
 * bound is 413, and a body of undeclared length (chunked) is 411, since its size is known only
 * after it was read. GraphQL over HTTP and uploads always declare their length.
 */
export function withBodyLimit(handler: RequestListener, maxBytes: number): RequestListener {
  return (request, response) => {
    if (!hasBody(request)) return handler(request, response);
    const declared = request.headers['content-length'];
    if (declared === undefined) {
      return refuse(response, 411, 'a request body must declare its Content-Length', maxBytes);
    }
    if (Number(declared) > maxBytes) {
      return refuse(response, 413, `a request body may be at most ${maxBytes} bytes`, maxBytes);
    }
    return handler(request, response);
  };
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
}

function refuse(response: ServerResponse, status: number, message: string, max: number): void {
  const body = JSON.stringify({
    errors: [{ message, extensions: { code: 'BAD_USER_INPUT', limit: 'bodyBytes', max } }],
  });
  // The body is left unread: close the connection rather than let the client keep sending it.
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(body);
}
