export { mockDefinition } from './definition.js';
export { createMockProvider, MOCK_MODEL_PREFIX, type MockProviderOptions } from './mock-provider.js';
