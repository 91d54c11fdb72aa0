import { describe, expect, it } from 'vitest';
import { createModelCache } from './model-cache.js';
import type { ModelInfo } from './types.js';

const list = (...ids: string[]): ModelInfo[] => ids.map((id) => ({ id }) as ModelInfo);

describe('createModelCache', () => {
  it('lists once per refresh period, then lists again', async () => {
    const clock = { at: 5_000, now: () => clock.at };
    let calls = 0;
    const models = createModelCache(async () => list(`m${++calls}`), 1_000, clock);
    expect(await models()).toEqual(list('m1'));
    clock.at += 1_000;
    expect(await models()).toEqual(list('m1'));
    clock.at += 1;
    expect(await models()).toEqual(list('m2'));
    expect(calls).toBe(2);
  });

  it('lists on every call with a refresh period of 0', async () => {
    let calls = 0;
    const models = createModelCache(async () => list(`m${++calls}`), 0);
    await models();
    expect(await models()).toEqual(list('m2'));
  });

  it('serves the last list when a refresh fails, and the error when there is none', async () => {
    let fail = false;
    const models = createModelCache(async () => {
      if (fail) throw new Error('upstream 500');
      return list('a', 'b');
    }, 0);
    await expect(createModelCache(() => Promise.reject(new Error('cold')), 0)()).rejects.toThrow('cold');
    expect(await models()).toEqual(list('a', 'b'));
    fail = true;
    expect(await models()).toEqual(list('a', 'b'));
  });

  it('gives an aborted call its error, not the last list', async () => {
    let fail = false;
    const models = createModelCache(async (signal) => {
      if (fail) throw signal?.reason ?? new Error('failed');
      return list('a');
    }, 0);
    await models();
    fail = true;
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(models(controller.signal)).rejects.toThrow('cancelled');
  });
});
