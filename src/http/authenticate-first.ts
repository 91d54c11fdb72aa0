import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { Authenticator } from '../policy/authenticator.js';
import { noteCode } from './access-record.js';
import { BEARER_CHALLENGE } from './authentication.js';
import { discardUnreadBody } from './unread-body.js';

/**
 * Checks the credential of a GraphQL request that carries a body before anything reads that body:
 * a caller who cannot sign in gets its 401 at once, so an anonymous client cannot make the server
 * buffer and parse megabytes (yoga reads the whole body before the context authenticates). The
 * answer is the one yoga gives (UNAUTHENTICATED, `WWW-Authenticate: Bearer`), with the CORS
 * headers a listed origin needs to read it. Requests without a body, and the credentials that
 * pass, go on to `handler`, whose context authenticates again (a cached lookup).
 */
export function withAuthenticationFirst(
  handler: RequestListener,
  auth: Pick<Authenticator, 'authenticate'>,
  options: { path: string; allowedOrigins: readonly string[] },
): RequestListener {
  const allowed = new Set(options.allowedOrigins);
  return (request, response) => {
    if (!hasBody(request) || pathOf(request.url) !== options.path) return handler(request, response);
    auth.authenticate(request.headers.authorization, request.headers.host).then(
      () => handler(request, response),
      (error: unknown) => {
        if (!AppError.isInstance(error) || error.code !== 'UNAUTHENTICATED') return handler(request, response);
        noteCode(request, 'UNAUTHENTICATED');
        refuse(request, response, error.message, allowed);
      },
    );
  };
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
}

function pathOf(url: string | undefined): string {
  const query = url?.indexOf('?') ?? -1;
  return query >= 0 ? (url as string).slice(0, query) : (url ?? '/');
}

function refuse(request: IncomingMessage, response: ServerResponse, message: string, allowed: Set<string>): void {
  const origin = request.headers.origin;
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    ...BEARER_CHALLENGE,
    vary: 'Origin',
  };
  if (origin !== undefined && allowed.has(origin)) {
    headers['access-control-allow-origin'] = origin;
    headers['access-control-allow-credentials'] = 'true';
  }
  discardUnreadBody(request, response);
  response
    .writeHead(401, headers)
    .end(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }));
}
