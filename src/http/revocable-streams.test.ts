import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type CredentialEnd, endWhenInvalid } from './revocable-streams.js';

/** A source that yields `events`, then waits until returned, as a stream waiting on its model does. */
function quietSource(events: ExecutionResult[]) {
  const state = { returned: false };
  let release: (() => void) | undefined;
  async function* source(): AsyncGenerator<ExecutionResult> {
    try {
      yield* events;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    } finally {
      state.returned = true;
    }
  }
  return { iterable: source(), state, release: () => release?.() };
}

function credential(): CredentialEnd & { revoke(reason: string): void; stopped: () => boolean } {
  let revoke: (reason: string) => void = () => {};
  let stopped = false;
  const ended = new Promise<string>((resolve) => {
    revoke = resolve;
  });
  const stop = () => {
    stopped = true;
  };
  return { ended, stop, revoke, stopped: () => stopped };
}

describe('endWhenInvalid', () => {
  it('passes events through, and ends a stream waiting on a quiet source as soon as the credential ends', async () => {
    const source = quietSource([{ data: { n: 1 } }]);
    const end = credential();
    const stream = endWhenInvalid(source.iterable, end);
    expect(await stream.next()).toEqual({ done: false, value: { data: { n: 1 } } });
    const waiting = stream.next();
    end.revoke('the API key was revoked');
    const refused = await waiting;
    expect(refused.value?.errors?.[0]).toMatchObject({
      message: 'the API key was revoked',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(end.stopped()).toBe(true);
    source.release(); // the pending read ends; the generator's return then runs
    await expect.poll(() => source.state.returned).toBe(true);
  });

  it('refuses at the next read when the credential ended between reads', async () => {
    const source = quietSource([{ data: { n: 1 } }, { data: { n: 2 } }]);
    const end = credential();
    const stream = endWhenInvalid(source.iterable, end);
    await stream.next();
    end.revoke('the credential has expired');
    await end.ended;
    const refused = await stream.next();
    expect(refused.value?.errors?.[0]?.message).toBe('the credential has expired');
    await expect.poll(() => source.state.returned).toBe(true);
  });

  it('stops watching the credential when the source ends', async () => {
    const end = credential();
    async function* twoEvents() {
      yield { data: { n: 1 } };
      yield { data: { n: 2 } };
    }
    const seen: unknown[] = [];
    for await (const result of endWhenInvalid(twoEvents(), end)) seen.push(result.data);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(end.stopped()).toBe(true);
  });
});
