export { chunkDocument } from './chunk-document.js';
export { htmlToMarkdown } from './html-to-markdown.js';
export type { Chunk, ChunkMimeType, ChunkOptions } from './types.js';
