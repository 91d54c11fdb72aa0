import type { FakeServer } from '../fakes/index.js';

/** The environment that points a test server's providers at the fakes given (keys are the fakes' test keys). */
export function fakeProviderEnv(fakes: {
  openai?: FakeServer;
  anthropic?: FakeServer;
  ollama?: FakeServer;
}): Record<string, string> {
  const { openai, anthropic, ollama } = fakes;
  return {
    ...(openai ? { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL } : {}),
    ...(anthropic ? { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: anthropic.baseURL } : {}),
    ...(ollama ? { OLLAMA_HOST: ollama.url } : {}),
  };
}
