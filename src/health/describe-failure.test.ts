import { TimeoutStrategy, timeout } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { describeFailure } from './describe-failure.js';

describe('describeFailure', () => {
  it("reads a ping cut off by cockatiel's timeout as 'timed out'", async () => {
    const never = new Promise<never>(() => {});
    const error = await timeout(1, TimeoutStrategy.Aggressive)
      .execute(() => never)
      .catch((e: unknown) => e);
    expect(describeFailure(error)).toBe('timed out');
  });

  it('names driver failures by their code, never by their message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    expect(describeFailure(refused)).toBe('connection refused');
    expect(describeFailure(new Error("Can't reach database server at 10.0.0.5:5432"))).toBe('probe failed');
    expect(describeFailure(new Error('redis is not connected'))).toBe('connection lost');
    expect(describeFailure(undefined)).toBe('probe failed');
  });
});
