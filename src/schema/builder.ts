import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type { Context } from '../context.js';
import { badInput } from '../errors.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { UploadedFile } from '../rag/extract/extract-upload.js';
import { decodeGlobalId, encodeGlobalId } from './global-id.js';

/** Most rows a connection returns in one page; more is BAD_USER_INPUT (src/http/argument-limits.ts). */
export const MAX_PAGE_SIZE = 100;
/** Rows when a connection gets neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;

export const builder = new SchemaBuilder<{
  Context: Context;
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
  plugins: [PrismaPlugin, RelayPlugin],
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
