import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { type AuthFailure, AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import type { Context } from '../context.js';
import { AppError, badInput } from '../errors.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { type ApiScope, forbidden, isApiScope } from '../policy/scopes.js';
import { hasScope } from '../policy/viewer.js';
import type { UploadedFile } from '../rag/extract/extract-upload.js';
import { decodeGlobalId, encodeGlobalId } from './global-id.js';

/** Most rows a connection returns in one page; more is BAD_USER_INPUT (src/http/argument-limits.ts). */
export const MAX_PAGE_SIZE = 100;
/** Rows when a connection gets neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;

/** Node types whose ids only a credential with the scope may look up (User and ApiKey go by owner). */
const NODE_SCOPES: Record<string, ApiScope> = {
  Conversation: 'CHAT',
  Message: 'CHAT',
  Document: 'DOCUMENTS',
  Chunk: 'DOCUMENTS',
  Memory: 'MEMORY',
};

/** The first scope a failed check wanted, from scope-auth's tree of failures. */
function missingScope(failure: AuthFailure): ApiScope | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) {
    const scope = failure.scope.toUpperCase();
    return isApiScope(scope) ? scope : undefined;
  }
  if (failure.kind === AuthScopeFailureType.AllAuthScopes || failure.kind === AuthScopeFailureType.AnyAuthScopes) {
    for (const child of failure.failures) {
      const scope = missingScope(child);
      if (scope) return scope;
    }
  }
  return undefined;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  /** Whole areas of the API, from the viewer's scopes (`authScopes: { documents: true }`). */
  AuthScopes: { chat: boolean; documents: boolean; memory: boolean; admin: boolean };
  DefaultAuthStrategy: 'all';
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    /** A multipart upload's file part (input only). */
    File: { Input: UploadedFile; Output: never };
  };
}>({
  defaultFieldNullability: false,
  // Scope checks first, so no other plugin's work runs for a field the viewer may not use.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    defaultStrategy: 'all',
    // A subscription is refused when it starts, not on its first event.
    authorizeOnSubscribe: true,
    authScopes: ({ viewer }) => ({
      chat: hasScope(viewer, 'CHAT'),
      documents: hasScope(viewer, 'DOCUMENTS'),
      memory: hasScope(viewer, 'MEMORY'),
      admin: hasScope(viewer, 'ADMIN'),
    }),
    unauthorizedError: (_parent, _context, _info, result) => {
      const scope = missingScope(result.failure);
      return scope ? forbidden(scope) : new AppError('FORBIDDEN', result.message);
    },
  },
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    nodesQueryOptions: false,
    // Refused by the id's type alone, before any lookup: the answer says nothing about whether the row exists.
    nodeQueryOptions: {
      resolve: (_root, args, ctx, _info, resolveNode) => {
        const scope = NODE_SCOPES[args.id.typename];
        if (scope && !hasScope(ctx.viewer, scope)) throw forbidden(scope);
        return resolveNode(args.id);
      },
    },
    encodeGlobalID: encodeGlobalId,
    // node(id) of a type this schema does not have is the client's mistake, not an unexpected error.
    decodeGlobalID: (globalId) => {
      const decoded = decodeGlobalId(globalId);
      const { configStore } = builder;
      if (
        !configStore.hasConfig(decoded.typename) ||
        configStore.getTypeConfig(decoded.typename).graphqlKind !== 'Object'
      ) {
        throw badInput(`"${globalId}" is not the ID of anything this API serves`, { id: globalId });
      }
      return decoded;
    },
  },
});
