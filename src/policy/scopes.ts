import { AppError } from '../errors.js';

/** What a credential may do: whole areas of the API. */
export const API_SCOPES = ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** A key or JWT that names no scopes gets these: everything but ADMIN. */
export const DEFAULT_SCOPES: readonly ApiScope[] = ['CHAT', 'DOCUMENTS', 'MEMORY'];

export const isApiScope = (value: string): value is ApiScope => (API_SCOPES as readonly string[]).includes(value);

/** Known scopes from stored or claimed values, in canonical order; unknown values are dropped. */
export function toScopes(values: Iterable<string>): ApiScope[] {
  const given = new Set([...values].map((value) => value.trim().toUpperCase()));
  return API_SCOPES.filter((scope) => given.has(scope));
}

/** A credential without the scope an operation needs: the message names it, `extensions.scope` too. */
export const forbidden = (scope: ApiScope) => new AppError('FORBIDDEN', `this needs the ${scope} scope`, { scope });
