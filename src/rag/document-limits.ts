/** Largest document, as text or as an uploaded file, in bytes. */
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
