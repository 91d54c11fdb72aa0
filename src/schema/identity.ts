import type { ApiKey } from '../generated/prisma/client.js';
import { limitsFromJson } from '../policy/limits.js';
import { API_SCOPES, toScopes } from '../policy/scopes.js';
import { hasScope, type Viewer } from '../policy/viewer.js';
import { parsePiiMode } from '../privacy/pii-modes.js';
import { builder } from './builder.js';
import { clientId, withClientId } from './global-id.js';
import { LimitsInput, LimitsRef } from './limits.js';
import { PiiModeEnum } from './privacy.js';

export const ApiScopeEnum = builder.enumType('ApiScope', { values: API_SCOPES });

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  // node(id) of another user is null without ADMIN, as if there were none.
  nullable: true,
  findUnique: (id, ctx) => (hasScope(ctx.viewer, 'ADMIN') ? { id } : { id, AND: [{ id: ctx.viewer.userId }] }),
  fields: (t) => ({
    name: t.string({
      select: { id: true, name: true, email: true },
      // Users made before names were required may have none.
      resolve: (user) => user.name ?? user.email ?? `user ${user.id.slice(0, 8)}`,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    limits: t.field({
      type: LimitsRef,
      nullable: true,
      description: "Null: none set. A user's limits cover all of its keys; the tighter of the two wins.",
      select: { limits: true },
      resolve: (user) => limitsFromJson(user.limits),
    }),
    piiMode: t.field({
      type: PiiModeEnum,
      nullable: true,
      description: "Null: none set. The strictest of the config file's, the user's and the key's mode applies.",
      select: { piiMode: true },
      resolve: (user) => parsePiiMode(user.piiMode),
    }),
  }),
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  // node(id) of another user's key is null without ADMIN, as if there were none.
  nullable: true,
  findUnique: (id, ctx) => (hasScope(ctx.viewer, 'ADMIN') ? { id } : { id, userId: ctx.viewer.userId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', {
      description: 'The first characters of the secret, safe to show (e.g. sk-sy-AbC1).',
    }),
    user: t.relation('user'),
    scopes: t.field({ type: [ApiScopeEnum], select: { scopes: true }, resolve: (key) => toScopes(key.scopes) }),
    allowedModels: t.stringList({
      nullable: true,
      description: 'Null: every model the gateway routes.',
      select: { allowedModels: true },
      resolve: (key) => (Array.isArray(key.allowedModels) ? key.allowedModels.map(String) : null),
    }),
    limits: t.field({
      type: LimitsRef,
      nullable: true,
      description: "Null: none set, so the config file's defaults apply.",
      select: { limits: true },
      resolve: (key) => limitsFromJson(key.limits),
    }),
    piiMode: t.field({
      type: PiiModeEnum,
      nullable: true,
      description:
        "Null: none set. The strictest of the config file's, the user's, this key's and its makers' mode applies.",
      select: { piiMode: true },
      resolve: (key) => parsePiiMode(key.piiMode),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who is asking: the user, the key used (null for a JWT or the local default user) and its scopes.',
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      resolve: (query, viewer, _args, ctx) => ctx.db.user.findUniqueOrThrow({ ...query, where: { id: viewer.userId } }),
    }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      description: 'The stored key used; null for a JWT, the admin key or the local default user.',
      resolve: (query, viewer, _args, ctx) =>
        viewer.apiKeyId ? ctx.db.apiKey.findUnique({ ...query, where: { id: viewer.apiKeyId } }) : null,
    }),
    scopes: t.field({ type: [ApiScopeEnum], resolve: (viewer) => [...viewer.scopes] }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<{ apiKey: ApiKey; secret: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (created) => created.apiKey }),
    secret: t.exposeString('secret', { description: 'The secret, shown once and never stored in clear.' }),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    limits: t.field({ type: LimitsInput }),
    piiMode: t.field({ type: PiiModeEnum, description: 'Omitted: none (the config file and keys decide).' }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    userId: t.id({ description: 'Omitted: the viewer.' }),
    name: t.string({ required: true }),
    scopes: t.field({ type: [ApiScopeEnum], description: 'Omitted: CHAT, DOCUMENTS, MEMORY.' }),
    allowedModels: t.stringList({
      description: "Omitted: every model, or the creating key's own list when it has one.",
    }),
    expiresAt: t.field({ type: 'DateTime' }),
    limits: t.field({
      type: LimitsInput,
      description:
        "Omitted: the config file's defaults. Without ADMIN, every limit the creating key has (its own or the defaults), no higher.",
    }),
    piiMode: t.field({
      type: PiiModeEnum,
      description: "Omitted: none. A key made by a key is bound by its maker's mode too, so it can only be stricter.",
    }),
  }),
});

/** The user an argument names, decoded for the service. */
const userOf = (userId: string | number | null | undefined) => (userId == null ? undefined : clientId(userId, 'User'));

builder.queryFields((t) => ({
  viewer: t.field({ type: ViewerRef, resolve: (_root, _args, ctx) => ctx.viewer }),
  users: t.prismaConnection(
    {
      type: 'User',
      cursor: 'id',
      authScopes: { admin: true },
      description: 'ADMIN scope.',
      resolve: (query, _root, _args, ctx) =>
        ctx.db.user.findMany({ ...query, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    },
    { name: 'UserConnection' },
    { name: 'UserEdge' },
  ),
  apiKeys: t.prismaConnection(
    {
      type: 'ApiKey',
      cursor: 'id',
      description: "The viewer's keys; with ADMIN scope, any user's.",
      args: { userId: t.arg.id() },
      resolve: async (query, _root, args, ctx) => {
        const user = userOf(args.userId);
        const owner = await withClientId(user, ctx.services.identity.keyOwner(ctx.viewer, user?.id));
        return ctx.db.apiKey.findMany({
          ...query,
          where: { userId: owner },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
    },
    { name: 'ApiKeyConnection' },
    { name: 'ApiKeyEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createUser: t.prismaField({
    type: 'User',
    authScopes: { admin: true },
    description: 'ADMIN scope.',
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_query, _root, { input }, ctx) =>
      ctx.services.identity.createUser(input.name, input.limits, input.piiMode),
  }),
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    description: 'A user may create keys for itself with at most its own scopes; ADMIN for anyone.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const user = userOf(input.userId);
      const request = { ...input, userId: user?.id };
      return withClientId(
        user,
        ctx.services.identity.createApiKey(ctx.viewer, request, ctx.services.usage.defaultLimits()),
      );
    },
  }),
  revokeApiKey: t.prismaField({
    type: 'ApiKey',
    description:
      'Idempotent. Every instance refuses the key within a second and closes the WebSockets signed in with it.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => {
      const apiKey = clientId(args.id, 'ApiKey');
      return withClientId(apiKey, ctx.services.identity.revokeApiKey(ctx.viewer, apiKey.id));
    },
  }),
}));
