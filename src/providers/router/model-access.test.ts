import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { createMockProvider } from '../mock/index.js';
import type { ChatProvider } from '../types.js';
import { modelAccess } from './model-access.js';
import { createRouter } from './router.js';

const deployment = (id: string) => ({ id, model: id.slice(id.indexOf('/') + 1) });
const noAliases = () => undefined;

describe('an allowedModels entry', () => {
  it('allows a deployment by its model id, on any provider', () => {
    const allows = modelAccess(['gpt-4o'], noAliases);
    expect(allows(deployment('openai/gpt-4o'))).toBe(true);
    expect(allows(deployment('azure/gpt-4o'))).toBe(true);
    expect(allows(deployment('openai/gpt-4o-mini'))).toBe(false);
  });

  it('allows a deployment by its provider/model id, on that provider only', () => {
    const allows = modelAccess(['openai/gpt-4o'], noAliases);
    expect(allows(deployment('openai/gpt-4o'))).toBe(true);
    expect(allows(deployment('azure/gpt-4o'))).toBe(false);
  });

  it('naming an alias allows exactly the deployment ids it routes to', () => {
    const allows = modelAccess(['fast'], (name) => (name === 'fast' ? ['openai/gpt-4o'] : undefined));
    expect(allows(deployment('openai/gpt-4o'))).toBe(true);
    // Not by model id: another provider's model that happens to carry the same name.
    expect(allows(deployment('azure/gpt-4o'))).toBe(false);
    expect(allows({ id: 'gateway/openai/gpt-4o', model: 'openai/gpt-4o' })).toBe(false);
  });

  it('allows nothing when the list is empty', () => {
    expect(modelAccess([], noAliases)(deployment('openai/gpt-4o'))).toBe(false);
  });
});

/** Providers that are never called here: only their name and kind matter. */
const provider = (name: string, kind: string): ChatProvider => ({ ...createMockProvider({ name }), kind });

describe('a plan for a key with allowedModels', () => {
  const router = createRouter({
    providers: [provider('openai', 'openai'), provider('anthropic', 'anthropic'), createMockProvider()],
    defaultModel: 'openai/gpt-4o-mini',
    aliases: {
      both: {
        deployments: [
          { provider: 'openai', model: 'gpt-4o-mini' },
          { provider: 'anthropic', model: 'claude-haiku-4-5' },
        ],
        fallbacks: ['anthropic/claude-sonnet-4-5'],
      },
      claudes: { deployments: [{ provider: 'anthropic', model: 'claude-haiku-4-5' }], fallbacks: ['gpt-4o-mini'] },
      chained: { deployments: [{ provider: 'openai', model: 'gpt-4.1' }], fallbacks: ['claudes'] },
    },
  });
  const ids = (allowedModels: string[] | null, model?: string, provider?: string) =>
    router.plan({ model, provider, allowedModels }).chain.map((d) => d.id);
  const refusal = (allowedModels: string[], model?: string, provider?: string) => {
    try {
      router.plan({ model, provider, allowedModels });
    } catch (error) {
      return AppError.isInstance(error) ? { code: error.code, message: error.message, details: error.details } : error;
    }
    return 'planned';
  };

  it('plans as before without a list', () => {
    expect(ids(null, 'both')).toEqual([
      'openai/gpt-4o-mini',
      'anthropic/claude-haiku-4-5',
      'anthropic/claude-sonnet-4-5',
    ]);
  });

  it('refuses a model outside the list, by bare id, by provider/ prefix and by explicit provider', () => {
    expect(refusal(['gpt-4o-mini'], 'claude-haiku-4-5')).toEqual({
      code: 'FORBIDDEN',
      message: 'this API key may not use model "claude-haiku-4-5"',
      details: { model: 'claude-haiku-4-5' },
    });
    expect(refusal(['gpt-4o-mini'], 'anthropic/claude-haiku-4-5')).toMatchObject({ code: 'FORBIDDEN' });
    expect(refusal(['gpt-4o-mini'], 'claude-haiku-4-5', 'anthropic')).toMatchObject({ code: 'FORBIDDEN' });
    expect(refusal(['openai/gpt-4o-mini'], 'gpt-4o-mini', 'anthropic')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses an alias whose own deployments are all outside the list, even when a fallback is inside', () => {
    expect(refusal(['gpt-4o-mini'], 'claudes')).toMatchObject({
      code: 'FORBIDDEN',
      message: 'this API key may not use model "claudes"',
    });
  });

  it('keeps only the allowed deployments of an alias, and of its fallbacks', () => {
    expect(ids(['gpt-4o-mini'], 'both')).toEqual(['openai/gpt-4o-mini']);
    expect(ids(['gpt-4o-mini', 'claude-sonnet-4-5'], 'both')).toEqual([
      'openai/gpt-4o-mini',
      'anthropic/claude-sonnet-4-5',
    ]);
  });

  it('lets an entry naming an alias reach its deployments and fallbacks, through nested aliases', () => {
    expect(ids(['both'], 'both')).toEqual([
      'openai/gpt-4o-mini',
      'anthropic/claude-haiku-4-5',
      'anthropic/claude-sonnet-4-5',
    ]);
    expect(ids(['both'], 'anthropic/claude-sonnet-4-5')).toEqual(['anthropic/claude-sonnet-4-5']);
    expect(ids(['chained'], 'chained')).toEqual(['openai/gpt-4.1', 'anthropic/claude-haiku-4-5', 'openai/gpt-4o-mini']);
    // The alias allows what it routes to, not what merely shares a model id on another provider.
    expect(refusal(['claudes'], 'gpt-4.1')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('checks the default model the same way, naming it', () => {
    expect(ids(['gpt-4o-mini'])).toEqual(['openai/gpt-4o-mini']);
    expect(refusal(['claude-haiku-4-5'])).toMatchObject({
      code: 'FORBIDDEN',
      message: 'this API key may not use model "openai/gpt-4o-mini"',
    });
    expect(refusal(['gpt-4.1'], undefined, 'anthropic')).toMatchObject({
      code: 'FORBIDDEN',
      message: 'this API key may not use model "anthropic/claude-haiku-4-5"',
    });
  });

  it('refuses before checking parameters: a forbidden model does not learn the ranges', () => {
    expect(() => router.plan({ model: 'claude-haiku-4-5', temperature: 5, allowedModels: ['gpt-4o-mini'] })).toThrow(
      'may not use model',
    );
  });

  it('honours the list when stream plans the request itself', async () => {
    expect(() =>
      router.stream({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }], allowedModels: [] }),
    ).toThrow('may not use model');
  });
});
