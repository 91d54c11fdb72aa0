import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createOllamaProvider } from '../../src/providers/ollama/ollama-provider.js';
import { createOpenAIProvider } from '../../src/providers/openai/openai-provider.js';
import { createRouter, needsOf } from '../../src/providers/router/index.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { type FakeServer, startOllamaFake, startOpenAIFake } from '../fakes/index.js';
import { collect, textOf } from './helpers/scripted-provider.js';

/**
 * Ollama takes image bytes only and the gateway never fetches a URL a caller names, so a remote
 * image URL is a need the route plan knows: an Ollama deployment is skipped for it (a fallback
 * that takes URLs answers), and when no deployment can, it is BAD_USER_INPUT before anything is sent.
 */
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const remote = (): ChatRequest['messages'] => [
  { role: 'user', content: 'what is it', images: [{ url: 'https://example.com/cat.png' }] },
];

let openai: FakeServer;
let ollama: FakeServer;
beforeAll(async () => {
  [openai, ollama] = await Promise.all([startOpenAIFake(), startOllamaFake()]);
});
afterAll(() => Promise.all([openai?.close(), ollama?.close()]));
beforeEach(() => {
  openai.reset();
  ollama.reset();
  openai.setReply('from GPT');
  ollama.setReply('from Llava');
});

const chats = (fake: FakeServer, path: string) => fake.requests.filter((r) => r.path === path).length;

function router() {
  return createRouter({
    providers: [
      createOpenAIProvider({ apiKey: 'sk-test', baseURL: openai.baseURL }),
      createOllamaProvider({ host: ollama.baseURL }),
    ],
    aliases: {
      vision: { deployments: [{ provider: 'ollama', model: 'llava' }], fallbacks: ['openai/gpt-4o-mini'] },
      local: { deployments: [{ provider: 'ollama', model: 'llava' }] },
    },
    resilience: { retry: { maxRetries: 0, initialDelayMs: 1, maxDelayMs: 1 } },
    random: () => 0,
  });
}

describe('a remote image URL in the route plan', () => {
  it('is a need of its own, besides images', () => {
    expect(needsOf({ messages: remote() })).toEqual({ images: true, imageUrls: true });
    expect(needsOf({ messages: [{ role: 'user', content: 'x', images: [{ url: PNG }] }] })).toEqual({ images: true });
  });

  it('skips the Ollama deployment for the fallback that takes URLs, without calling Ollama', async () => {
    const r = router();
    const plan = r.plan({ model: 'vision', needs: needsOf({ messages: remote() }) });
    expect(plan.chain.map((d) => d.id)).toEqual(['openai/gpt-4o-mini']);
    const parts = await collect(r.stream({ model: 'vision', messages: remote() }));
    expect(textOf(parts)).toBe('from GPT');
    expect(parts.at(-1)).toMatchObject({ type: 'finish' });
    expect(chats(ollama, '/api/chat')).toBe(0);
    expect(JSON.stringify(openai.lastRequest('/v1/chat/completions')?.body)).toContain('https://example.com/cat.png');
  });

  it('still sends a data: image to Ollama first', async () => {
    const parts = await collect(
      router().stream({ model: 'vision', messages: [{ role: 'user', content: 'what', images: [{ url: PNG }] }] }),
    );
    expect(textOf(parts)).toBe('from Llava');
    expect(chats(ollama, '/api/chat')).toBe(1);
  });

  it('is BAD_USER_INPUT naming the need when only Ollama could answer, before anything is sent', async () => {
    const r = router();
    for (const model of ['local', 'ollama/llava']) {
      let error: unknown;
      try {
        r.plan({ model, needs: needsOf({ messages: remote() }) });
      } catch (e) {
        error = e;
      }
      expect(AppError.isInstance(error) && error.code, model).toBe('BAD_USER_INPUT');
      expect((error as AppError).message).toContain('remote image URLs');
      expect((error as AppError).details).toMatchObject({ field: 'model' });
      expect(() => r.stream({ model, messages: remote() })).toThrow(/remote image URLs/);
    }
    expect(chats(ollama, '/api/chat') + chats(openai, '/v1/chat/completions')).toBe(0);
  });
});
