import { getDocumentProxy } from 'unpdf';
import { AppError, badInput } from '../../errors.js';
import { pdfInflatedSize } from './pdf-inflated-size.js';

export interface PdfText {
  /** Page texts in order, empty pages left out, joined with blank lines. */
  text: string;
  pageCount: number;
}

/** What reading one PDF may cost; beyond these it is refused, not read. */
export interface PdfLimits {
  maxPages: number;
  /** Total size its FlateDecode streams inflate to. */
  maxInflatedBytes: number;
  /** UTF-8 size of the extracted text (what a document may hold). */
  maxTextBytes: number;
}

/**
 * Reads the text layer of a PDF with pdf.js (through unpdf's serverless build: pure JS, no
 * worker, no canvas), within `limits`: it runs in a worker thread (see heavy-worker.ts), whose
 * time bound covers what the limits cannot foresee. Unreadable, encrypted, image-only or
 * oversized PDFs are the client's problem: BAD_USER_INPUT.
 */
export async function extractPdfText(bytes: Uint8Array, limits: PdfLimits): Promise<PdfText> {
  // Counted before pdf.js sees the file: pdf.js inflates a page's stream whole, then parses it.
  const inflated = await pdfInflatedSize(bytes, limits.maxInflatedBytes);
  if (inflated > limits.maxInflatedBytes) {
    throw badInput(`the PDF's compressed streams inflate to more than ${limits.maxInflatedBytes} bytes`, {
      field: 'file',
      maxInflatedBytes: limits.maxInflatedBytes,
    });
  }
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // verbosity 0: pdf.js would otherwise log every recoverable font and xref warning to the console.
    pdf = await getDocumentProxy(bytes, { verbosity: 0 });
  } catch (error) {
    throw unreadable(error);
  }
  try {
    if (pdf.numPages > limits.maxPages) {
      throw badInput(`the PDF has ${pdf.numPages} pages; at most ${limits.maxPages} are accepted`, {
        field: 'file',
        maxPages: limits.maxPages,
      });
    }
    const pages: string[] = [];
    let textBytes = 0;
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      const text = normalize(
        content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join(''),
      );
      page.cleanup();
      // Stop as soon as the text is too big to store, rather than after the last page.
      textBytes += Buffer.byteLength(text, 'utf8') + 2;
      if (textBytes > limits.maxTextBytes) {
        throw badInput(`the PDF's text is over ${limits.maxTextBytes} bytes`, {
          field: 'file',
          max: limits.maxTextBytes,
        });
      }
      pages.push(text);
    }
    const text = pages.filter((page) => page !== '').join('\n\n');
    if (text === '') throw badInput('the PDF has no text layer; OCR is not supported', { field: 'file' });
    return { text, pageCount: pdf.numPages };
  } catch (error) {
    throw unreadable(error);
  } finally {
    await pdf.destroy().catch(() => {});
  }
}

/** Trims lines and turns control characters (Postgres text refuses NUL) and runs of spaces into one space. */
function normalize(page: string): string {
  return page
    .replace(/[^\P{Cc}\n]/gu, ' ')
    .split('\n')
    .map((line) => line.replace(/[^\S\n]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function unreadable(error: unknown): Error {
  if (AppError.isInstance(error)) return error;
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return badInput('the PDF is password-protected', { field: 'file' });
  const reason = error instanceof Error ? error.message : String(error);
  return badInput(`the file is not a readable PDF: ${reason}`, { field: 'file' });
}
