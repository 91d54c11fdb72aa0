/**
 * A remote image URL over REST to a model only Ollama serves: Ollama takes image bytes only and
 * the gateway never fetches a caller's URL, so it is a 400 invalid_request_error (BadRequestError)
 * before anything is sent, not an upstream failure; an alias with a fallback that takes URLs answers.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { LIMITS_BACKENDS, type LimitsCluster, type Member, startLimitsCluster } from '../helpers/limits-cluster.js';

const EMBEDDED = LIMITS_BACKENDS.find((b) => !b.shared) as (typeof LIMITS_BACKENDS)[number];
const CAT = 'https://example.com/cat.png';

let openai: FakeServer;
let ollama: FakeServer;
let cluster: LimitsCluster;
let member: Member;

beforeAll(async () => {
  [openai, ollama] = await Promise.all([startOpenAIFake(), startOllamaFake()]);
  cluster = await startLimitsCluster(EMBEDDED, {
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL, OLLAMA_HOST: ollama.url },
    config: {
      aliases: { vision: { deployments: [{ provider: 'ollama', model: 'llava' }], fallbacks: ['openai/gpt-4o-mini'] } },
    },
  });
  member = await cluster.member('rest-image-urls');
});
afterAll(async () => {
  await cluster?.close();
  await Promise.all([openai?.close(), ollama?.close()]);
});

const openaiClient = () =>
  new OpenAI({ apiKey: member.secret, baseURL: `${cluster.pick(0).origin}/v1`, maxRetries: 0 });
const ollamaChats = () => ollama.requests.filter((r) => r.path === '/api/chat').length;
const withCat = (model: string) => ({
  model,
  messages: [
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'what is it' },
        { type: 'image_url' as const, image_url: { url: CAT } },
      ],
    },
  ],
});

describe('a remote image URL over REST', () => {
  it('is a 400 invalid_request_error on an Ollama-only model, with nothing sent', async () => {
    const before = ollamaChats();
    const error = await openaiClient()
      .chat.completions.create(withCat('ollama/llava'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'model' });
    expect((error as Error).message).toContain('remote image URLs');

    const anthropic = new Anthropic({ apiKey: member.secret, baseURL: cluster.pick(0).origin, maxRetries: 0 });
    const refused = await anthropic.messages
      .create({
        model: 'ollama/llava',
        max_tokens: 20,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: CAT } }] }],
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(ollamaChats()).toBe(before);
  });

  it('goes to the fallback that takes URLs, skipping Ollama', async () => {
    openai.setReply('a cat');
    const before = ollamaChats();
    const reply = await openaiClient().chat.completions.create(withCat('vision'));
    expect(reply.choices[0]?.message.content).toBe('a cat');
    expect(reply.model).toBe('gpt-4o-mini');
    expect(ollamaChats()).toBe(before);
    expect(JSON.stringify(openai.lastRequest('/v1/chat/completions')?.body)).toContain(CAT);
  });
});
