import type { Chunk, ChunkMimeType } from './chunking/index.js';
import type { PdfLimits } from './extract/extract-pdf-text.js';
import type { ExtractedText, UploadMimeType } from './extract/extract-text.js';

/** What the main thread asks of a heavy-work thread (heavy-worker.ts). */
export type HeavyTask =
  | { kind: 'extract'; bytes: Uint8Array; mimeType: UploadMimeType; limits: PdfLimits }
  | { kind: 'chunk'; content: string; mimeType: ChunkMimeType }
  | { kind: 'embed'; texts: string[]; dimensions: number };

/**
 * Answers, by task kind. A refusal travels as a value: an error crossing threads keeps only its
 * message, and the client's AppError code and details would be lost.
 */
export interface HeavyResults {
  extract: { ok: true; value: ExtractedText } | { ok: false; message: string; details?: Record<string, unknown> };
  chunk: Chunk[];
  /** Every vector one after another, `dimensions` each: one buffer, moved rather than copied. */
  embed: Float32Array;
}

export type HeavyResult = HeavyResults[keyof HeavyResults];
