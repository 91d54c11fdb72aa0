export { createMessageStreams, type MessageStreamStoreDeps } from './create-stream-store.js';
export { createLayeredStreamStore } from './layered-stream-store.js';
export { createMemoryStreamStore } from './memory-stream-store.js';
export {
  createRedisStreamStore,
  type RedisStreamStoreClients,
  type RedisStreamStoreOptions,
} from './redis-stream-store.js';
export * from './types.js';
