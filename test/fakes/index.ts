export { startAnthropicFake } from './anthropic-fake.js';
export { fakeEmbedding } from './fake-embeddings.js';
export type { FaultController, FaultSpec } from './fake-faults.js';
export type { RequestOutcome } from './fake-response.js';
export {
  countTokens,
  type FakeChatInput,
  type FakeReply,
  type PromptCacheScript,
  planReply,
  type ReplyPlan,
  type ReplyScript,
  tokenize,
} from './fake-script.js';
export type { FakeModel, FakeOptions, FakeServer, RecordedRequest } from './fake-types.js';
export { startOllamaFake } from './ollama-fake.js';
export { startOpenAIFake } from './openai-fake.js';
