import { describe, expect, it } from 'vitest';
import { createRouter } from '../../src/providers/router/index.js';
import { createSeededRandom } from '../../src/util/seeded-random.js';
import { collect, createScriptedProvider, finish, text } from './helpers/scripted-provider.js';

describe('balancing in the router', () => {
  it('the router balances an alias with its own strategy and tracks in-flight calls', async () => {
    const fast = createScriptedProvider('fast', [[{ type: 'delay', ms: 5 }, text('f'), finish()]]);
    const slow = createScriptedProvider('slow', [[{ type: 'delay', ms: 60 }, text('s'), finish()]]);
    const router = createRouter({
      providers: [fast, slow],
      aliases: {
        quick: {
          deployments: [
            { provider: 'slow', model: 'm' },
            { provider: 'fast', model: 'm' },
          ],
          strategy: 'lowest-latency',
        },
      },
      random: createSeededRandom(1),
    });
    // Both get measured first (unmeasured go first), then the fast one wins every time.
    for (let i = 0; i < 6; i++) await collect(router.stream({ model: 'quick', messages: [] }));
    expect(slow.calls.length).toBe(1);
    expect(fast.calls.length).toBe(5);
  });
});
