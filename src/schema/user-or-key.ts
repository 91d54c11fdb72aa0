import { badInput } from '../errors.js';
import { type ClientId, clientId } from './global-id.js';

type IdArg = string | number | null | undefined;

/** The one user or key an admin mutation (`setLimits`, `setPiiMode`) names; both or neither is the client's mistake. */
export function userOrKey(operation: string, userId: IdArg, apiKeyId: IdArg) {
  if ((userId == null) === (apiKeyId == null)) {
    throw badInput(`${operation} takes exactly one of userId and apiKeyId`, {
      field: userId == null ? 'userId' : 'apiKeyId',
    });
  }
  const ref: ClientId = apiKeyId != null ? clientId(apiKeyId, 'ApiKey') : clientId(userId as string, 'User');
  return { ref, kind: apiKeyId != null ? ('key' as const) : ('user' as const) };
}
