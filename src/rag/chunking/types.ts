import type { TokenCounter } from '../../util/count-tokens.js';

export type ChunkMimeType = 'text/plain' | 'text/markdown' | 'text/html';

export interface ChunkOptions {
  mimeType: ChunkMimeType;
  /** Upper bound per chunk, heading prefix included (o200k tokens). Default 400. */
  maxTokens?: number;
  /** Roughly how much consecutive chunks of one section share. Default 60. */
  overlapTokens?: number;
  /**
   * Counts exactly as countTokens does. One createTokenCounter() passed to every call lets
   * documents share what it remembers of their words; by default each call makes its own.
   */
  tokenCounter?: TokenCounter;
}

export interface Chunk {
  /** 0-based position in the document. */
  ordinal: number;
  /** The text to embed and show: heading path, blank line, then the section's text. */
  content: string;
  tokenCount: number;
  /** The section's heading path, e.g. `# Guide > ## Install`; absent before the first heading. */
  heading?: string;
}

/** A paragraph of a section; code blocks are never split into sentences. */
export interface Block {
  text: string;
  code: boolean;
}

export interface Section {
  heading?: string;
  blocks: Block[];
}
