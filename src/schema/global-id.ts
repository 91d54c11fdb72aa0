import { badInput } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Relay global ids: base64 of `Typename:uuid`, opaque to clients. */
export function encodeGlobalId(typename: string, id: bigint | number | string): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64url');
}

/** Decodes a global id, rejecting anything malformed with BAD_USER_INPUT. */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = decoded.indexOf(':');
  const typename = decoded.slice(0, colon);
  const id = decoded.slice(colon + 1);
  if (colon <= 0 || !UUID.test(id) || encodeGlobalId(typename, id) !== globalId.replace(/=+$/, '')) {
    throw badInput(`"${globalId}" is not a valid ID`, { id: globalId });
  }
  return { typename, id };
}

/** The database id behind a global id that must name a `typename`. */
export function parseGlobalId(globalId: string, typename: string): string {
  const decoded = decodeGlobalId(globalId);
  if (decoded.typename !== typename) throw badInput(`"${globalId}" is not a ${typename} ID`, { id: globalId });
  return decoded.id;
}
