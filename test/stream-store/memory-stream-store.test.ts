import { describe } from 'vitest';
import { createMemoryStreamStore } from '../../src/stream-store/index.js';
import { streamStoreConformance } from './stream-store-conformance.js';

describe('memory stream store', () => {
  streamStoreConformance((options) => createMemoryStreamStore(options));
});
