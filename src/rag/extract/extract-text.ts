import { badInput } from '../../errors.js';
import { extractPdfText, type PdfLimits } from './extract-pdf-text.js';

export type UploadMimeType = 'text/markdown' | 'text/plain' | 'text/html' | 'application/pdf';

export interface ExtractedText {
  text: string;
  /** PDFs only. */
  pageCount?: number;
}

/**
 * An uploaded file's bytes as indexable text: a PDF's text layer, or the file itself as strict
 * UTF-8 (HTML stays HTML: the chunker turns it into Markdown). Runs in a worker thread.
 */
export async function extractText(
  bytes: Uint8Array,
  mimeType: UploadMimeType,
  limits: PdfLimits,
): Promise<ExtractedText> {
  if (mimeType === 'application/pdf') return extractPdfText(bytes, limits);
  return { text: decodeText(bytes) };
}

/** Strict UTF-8: a binary file under a text name fails here instead of being indexed as noise. */
function decodeText(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badInput('the file is not UTF-8 text', { field: 'file' });
  }
  // Valid UTF-8 may still hold NUL, which Postgres text cannot store and no text file contains.
  if (text.includes('\u0000')) throw badInput('the file is binary, not text', { field: 'file' });
  return text;
}
