import type { IncomingMessage } from 'node:http';
import { noteViewer } from '../http/access-record.js';
import type { Authenticator } from '../policy/authenticator.js';
import { type ApiScope, forbidden } from '../policy/scopes.js';
import { hasScope, type Viewer } from '../policy/viewer.js';

/**
 * The viewer of a REST request, by the same rules as GraphQL (`Authorization: Bearer`, the
 * loopback default when no keys exist), holding `scope`. Throws AppError UNAUTHENTICATED or FORBIDDEN.
 * `authorization` overrides the header (Anthropic's `x-api-key` arrives as `Bearer <key>`).
 */
export async function authenticateRest(
  auth: Authenticator,
  request: IncomingMessage,
  scope: ApiScope,
  authorization: string | undefined = request.headers.authorization,
): Promise<Viewer> {
  const viewer = await auth.authenticate(authorization, request.headers.host);
  noteViewer(request, viewer);
  if (!hasScope(viewer, scope)) throw forbidden(scope);
  return viewer;
}
