import { GraphQLError, GraphQLScalarType } from 'graphql';
import { badInput } from '../errors.js';
import { extractUpload, type UploadedFile } from '../rag/extract/extract-upload.js';
import { builder } from './builder.js';
import { DocumentRef } from './document.js';

const isUploadedFile = (value: unknown): value is UploadedFile =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as UploadedFile).name === 'string' &&
  typeof (value as UploadedFile).size === 'number' &&
  typeof (value as UploadedFile).arrayBuffer === 'function';

const FileScalarType = new GraphQLScalarType<UploadedFile, never>({
  name: 'File',
  description:
    'A file sent as a part of a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec). Input only.',
  parseValue: (value) => {
    if (!isUploadedFile(value)) throw new GraphQLError('File must be a file part of a multipart request');
    return value;
  },
  parseLiteral: () => {
    throw new GraphQLError('File must be a variable filled by a multipart request, not a literal');
  },
  serialize: () => {
    throw new GraphQLError('File is an input-only scalar');
  },
});

const FileScalar = builder.addScalarType('File', FileScalarType);

/** A JSON object to merge file facts into; lists and scalars have nowhere to put them. */
function metadataObject(metadata: unknown): Record<string, unknown> {
  if (metadata == null) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw badInput('metadata must be a JSON object for an upload', { field: 'metadata' });
  }
  return metadata as Record<string, unknown>;
}

builder.mutationField('uploadDocument', (t) =>
  t.field({
    type: DocumentRef,
    authScopes: { documents: true },
    description:
      'Stores an uploaded Markdown, plain text, HTML or PDF file (at most 5 MiB) and indexes its text in the background, like ingestDocument. Send it as a GraphQL multipart request.',
    args: {
      file: t.arg({ type: FileScalar, required: true }),
      title: t.arg.string({ description: 'Defaults to the file name.' }),
      collection: t.arg.string(),
      metadata: t.arg({
        type: 'JSON',
        description: 'A JSON object; fileName (and pageCount for a PDF) are added to it.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const metadata = metadataObject(args.metadata);
      const upload = await extractUpload(args.file, ctx.services.documents.extractText);
      return ctx.services.documents.ingestFile(ctx.viewer.userId, {
        title: args.title ?? args.file.name,
        text: upload.text,
        mimeType: upload.mimeType,
        collection: args.collection,
        // What the file says about itself wins over client-supplied keys of the same name.
        metadata: { ...metadata, ...upload.metadata },
      });
    },
  }),
);
