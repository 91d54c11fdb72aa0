import { describe, expect, it } from 'vitest';
import { routerConfigSchema } from '../../config/router-schema.js';
import { AppError } from '../../errors.js';
import { createMockProvider } from '../mock/index.js';
import { createProviderRegistry } from '../registry.js';
import type { ChatProvider } from '../types.js';
import { createRouteResolver, fitPrompt, planRoute } from './resolve-route.js';

/** Providers that are never called here: only their name and kind matter. */
const provider = (name: string, kind: string): ChatProvider => ({ ...createMockProvider({ name }), kind });

const registry = createProviderRegistry([
  provider('openai', 'openai'),
  provider('anthropic', 'anthropic'),
  provider('ollama', 'ollama'),
  createMockProvider(),
]);

/** Windows by model; temperatures by kind, as the definitions give them. */
const windows: Record<string, number> = { 'gpt-4o-mini': 128_000, 'gpt-4': 8_192, 'claude-haiku-4-5': 200_000 };
const temperatures: Record<string, { min: number; max: number }> = { anthropic: { min: 0, max: 1 } };
/** Only Anthropic and Ollama take tools here; only OpenAI holds a reply to a JSON Schema. */
const capabilitiesOf = (kind: string) => ({
  embeddings: false,
  tools: kind === 'anthropic' || kind === 'ollama',
  images: false,
  imageUrls: false,
  jsonObject: false,
  jsonSchema: kind === 'openai',
});

function resolver(aliases: Record<string, unknown> = {}) {
  return createRouteResolver({
    registry,
    config: routerConfigSchema.parse({ aliases }),
    defaultModel: 'mock/mock-echo',
    isAvailable: () => true,
    describe: (p, model) => ({
      limits: { contextWindow: windows[model] ?? 4_096, temperature: temperatures[p.kind] ?? { min: 0, max: 2 } },
      capabilities: capabilitiesOf(p.kind),
    }),
  });
}

const mixed = {
  mixed: {
    deployments: [
      { provider: 'openai', model: 'gpt-4o-mini' },
      { provider: 'anthropic', model: 'claude-haiku-4-5' },
    ],
    fallbacks: ['openai/gpt-4', 'ollama/llama3.2'],
  },
};
const ids = (route: { chain: { id: string }[] }) => route.chain.map((d) => d.id);

describe('resolving a target', () => {
  it('gives an alias its deployments as one group, then each fallback, each deployment once', () => {
    const route = resolver({
      ...mixed,
      again: { deployments: [{ provider: 'openai', model: 'gpt-4' }], fallbacks: ['mixed'] },
    }).resolve({ model: 'again' });
    expect(route.groups.map((g) => g.key)).toEqual(['again', 'mixed', 'ollama/llama3.2']);
    expect(ids(route)).toEqual(['openai/gpt-4', 'openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5', 'ollama/llama3.2']);
  });

  it('infers the provider of a bare id and gives each deployment its limits', () => {
    const [deployment] = resolver().resolve({ model: 'claude-haiku-4-5' }).chain;
    expect(deployment).toMatchObject({
      id: 'anthropic/claude-haiku-4-5',
      limits: { contextWindow: 200_000, temperature: { min: 0, max: 1 } },
    });
  });
});

describe('planning a request', () => {
  it('keeps every deployment when all can take the temperature, budgeting to the first group', () => {
    const plan = planRoute(resolver(mixed).resolve({ model: 'mixed' }), { model: 'mixed', temperature: 0.7 });
    expect(ids(plan)).toEqual(['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5', 'openai/gpt-4', 'ollama/llama3.2']);
    expect(plan.contextWindow).toBe(128_000);
    expect(plan.budgetedFor.id).toBe('openai/gpt-4o-mini');
  });

  it('skips deployments whose range excludes the temperature', () => {
    const plan = planRoute(resolver(mixed).resolve({ model: 'mixed' }), { temperature: 1.5 });
    expect(ids(plan)).toEqual(['openai/gpt-4o-mini', 'openai/gpt-4', 'ollama/llama3.2']);
  });

  it('refuses a temperature no deployment takes, naming each range once', () => {
    const resolution = resolver(mixed).resolve({ model: 'mixed' });
    try {
      planRoute(resolution, { temperature: 3 });
      expect.unreachable();
    } catch (error) {
      expect(AppError.isInstance(error) && error.code).toBe('BAD_USER_INPUT');
      expect((error as Error).message).toBe(
        "temperature 3 is outside openai's range 0..2 and anthropic's range 0..1 and ollama's range 0..2",
      );
    }
  });

  it('leaves out deployments that cannot take what the request needs, and refuses when none can', () => {
    const resolution = resolver(mixed).resolve({ model: 'mixed' });
    expect(ids(planRoute(resolution, { needs: { tools: true } }))).toEqual([
      'anthropic/claude-haiku-4-5',
      'ollama/llama3.2',
    ]);
    expect(ids(planRoute(resolution, { needs: { responseFormat: 'json-schema' } }))).toEqual([
      'openai/gpt-4o-mini',
      'openai/gpt-4',
    ]);
    try {
      planRoute(resolution, { needs: { tools: true, images: true } });
      expect.unreachable();
    } catch (error) {
      expect(AppError.isInstance(error) && error.code).toBe('BAD_USER_INPUT');
      expect((error as AppError).details).toMatchObject({ field: 'model', unsupported: ['tools', 'images'] });
    }
  });

  it('leaves out later deployments whose window cannot hold the budgeted prompt', () => {
    const plan = planRoute(resolver(mixed).resolve({ model: 'mixed' }), {});
    expect(ids(fitPrompt(plan, 10_000))).toEqual(['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5']);
    expect(ids(fitPrompt(plan, 4_000))).toEqual(ids(plan));
    // The deployment the prompt was budgeted for always stays.
    expect(ids(fitPrompt(plan, 500_000))).toEqual(['openai/gpt-4o-mini']);
  });
});
