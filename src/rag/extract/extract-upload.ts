import { extname } from 'node:path';
import { badInput } from '../../errors.js';
import { MAX_DOCUMENT_BYTES } from '../document-limits.js';
import type { ExtractedText, UploadMimeType } from './extract-text.js';

export type { UploadMimeType } from './extract-text.js';

/** The parts of a web `File` an upload needs (yoga hands resolvers a whatwg-node File). */
export type UploadedFile = Pick<File, 'name' | 'type' | 'size' | 'arrayBuffer'>;

/** Turns a file's bytes into text off the event loop (HeavyWork.extractText); refusals are BAD_USER_INPUT. */
export type TextExtractor = (
  bytes: Uint8Array,
  mimeType: UploadMimeType,
  signal?: AbortSignal,
) => Promise<ExtractedText>;

export interface ExtractedUpload {
  mimeType: UploadMimeType;
  text: string;
  /** Facts about the file worth keeping on the document (original name, PDF page count). */
  metadata: Record<string, unknown>;
}

const BY_EXTENSION: Record<string, UploadMimeType> = {
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.pdf': 'application/pdf',
};

const BY_MIME_TYPE: Record<string, UploadMimeType> = {
  'text/markdown': 'text/markdown',
  'text/x-markdown': 'text/markdown',
  'text/plain': 'text/plain',
  'text/html': 'text/html',
  'application/pdf': 'application/pdf',
};

export const ACCEPTED_UPLOADS = 'Markdown (.md, .markdown), plain text (.txt), HTML (.html, .htm) or PDF (.pdf)';

/**
 * The file's type from its declared MIME type, else from its extension: clients often send
 * application/octet-stream (curl for .md) or an OS guess (.md as a Genesis ROM on Windows).
 */
export function uploadMimeType(file: Pick<UploadedFile, 'name' | 'type'>): UploadMimeType {
  const declared = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  const type = BY_MIME_TYPE[declared] ?? BY_EXTENSION[extname(file.name).toLowerCase()];
  if (!type) {
    throw badInput(
      `${file.name || 'the file'} (${declared || 'no type'}) is not accepted; upload ${ACCEPTED_UPLOADS}`,
      {
        field: 'file',
        accepted: Object.keys(BY_EXTENSION),
      },
    );
  }
  return type;
}

/** Checks type and size before reading the body, then has `extract` turn the file into indexable text. */
export async function extractUpload(file: UploadedFile, extract: TextExtractor): Promise<ExtractedUpload> {
  const mimeType = uploadMimeType(file);
  if (file.size > MAX_DOCUMENT_BYTES) {
    throw badInput(`the file is ${file.size} bytes; at most ${MAX_DOCUMENT_BYTES} are accepted`, {
      field: 'file',
      max: MAX_DOCUMENT_BYTES,
    });
  }
  if (file.size === 0) throw badInput('the file is empty', { field: 'file' });
  const { text, pageCount } = await extract(new Uint8Array(await file.arrayBuffer()), mimeType);
  const metadata: Record<string, unknown> = { fileName: file.name };
  return { mimeType, text, metadata: pageCount === undefined ? metadata : { ...metadata, pageCount } };
}
