import { AppError, badInput, notFound } from '../errors.js';

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

/** An id argument decoded for a service, which takes `id`; the client sent `globalId`. */
export interface ClientId {
  typename: string;
  globalId: string;
  id: string;
}

export function clientId(globalId: string | number, typename: string): ClientId {
  const sent = String(globalId);
  return { typename, globalId: sent, id: parseGlobalId(sent, typename) };
}

/**
 * Services name rows by database id, so their NOT_FOUND carries one; the client named the row by
 * its global id, and the error it gets does too. Other errors pass through.
 */
function asSent(ref: ClientId | undefined) {
  return (error: unknown): never => {
    const named = AppError.isInstance(error) && error.code === 'NOT_FOUND' && error.details?.id === ref?.id;
    throw named && ref ? notFound(ref.typename, ref.globalId) : error;
  };
}

/** A service call on `ref.id`, its NOT_FOUND told in the global id (see `asSent`). */
export function withClientId<T>(ref: ClientId | undefined, call: Promise<T>): Promise<T> {
  return call.catch(asSent(ref));
}

/** `withClientId` for a subscription's events: a NOT_FOUND raised while reading them too. */
export function eventsWithClientId<T>(ref: ClientId | undefined, events: AsyncIterableIterator<T>) {
  const rethrow = asSent(ref);
  const iterator: AsyncIterableIterator<T> = {
    next: () => events.next().catch(rethrow),
    return: (value) => events.return?.(value) ?? Promise.resolve({ done: true, value }),
    throw: (error) => events.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
