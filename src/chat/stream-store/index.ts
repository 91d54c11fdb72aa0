export { createMemoryStreamStore } from './memory-stream-store.js';
export * from './types.js';
