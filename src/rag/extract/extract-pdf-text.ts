import { getDocumentProxy } from 'unpdf';
import { AppError, badInput } from '../../errors.js';

export interface PdfText {
  /** Page texts in order, empty pages left out, joined with blank lines. */
  text: string;
  pageCount: number;
}

/**
 * Reads the text layer of a PDF with pdf.js (through unpdf's serverless build: pure JS, no
 * worker, no canvas). Unreadable, encrypted or image-only PDFs are the client's problem: BAD_USER_INPUT.
 */
export async function extractPdfText(bytes: Uint8Array): Promise<PdfText> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // verbosity 0: pdf.js would otherwise log every recoverable font and xref warning to the console.
    pdf = await getDocumentProxy(bytes, { verbosity: 0 });
  } catch (error) {
    throw unreadable(error);
  }
  try {
    const pages: string[] = [];
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      pages.push(
        normalize(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('')),
      );
      page.cleanup();
      // Without a worker pdf.js parses on this thread: give other requests a turn between pages.
      await new Promise((resolve) => setImmediate(resolve));
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
