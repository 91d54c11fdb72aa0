import type { ApiScope } from './scopes.js';

/** Who is asking: every resolver reads and writes through it. */
export interface Viewer {
  userId: string;
  /** The stored key used, or null (a JWT, the admin key, the local default user). */
  apiKeyId: string | null;
  scopes: readonly ApiScope[];
  /** Models and aliases this credential may route to; null: every one. */
  allowedModels: readonly string[] | null;
  /** How the credential was given. */
  via: 'api-key' | 'jwt' | 'admin-key' | 'local-default';
  /** When the credential stops being valid (an open WebSocket is closed then); null: never. */
  expiresAt: Date | null;
}

export const hasScope = (viewer: Viewer, scope: ApiScope) => viewer.scopes.includes(scope);
