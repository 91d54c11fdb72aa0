import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { JwtIdentity } from './jwt.js';
import { REMEMBER_VERIFIED_MS, rememberVerified } from './verified-jwts.js';

const identity = (subject: string, expiresAt: number): JwtIdentity => ({
  subject,
  displayName: subject,
  scopes: ['CHAT'],
  expiresAt: new Date(expiresAt),
});

/** A verifier that accepts `token` as subject `token`, expiring `validMs` after now, and counts its calls. */
function counting(clock: { at: number }, validMs: number) {
  const calls: string[] = [];
  let refuse = false;
  const verify = async (token: string) => {
    calls.push(token);
    if (refuse) throw new AppError('UNAUTHENTICATED', 'the JWT has expired');
    return identity(token, clock.at + validMs);
  };
  const refuseFromNowOn = () => {
    refuse = true;
  };
  return { verify, calls, refuseFromNowOn };
}

describe('rememberVerified', () => {
  it('verifies each token once, then answers from memory', async () => {
    const clock = { at: 1_000_000 };
    const inner = counting(clock, 3_600_000);
    const verify = rememberVerified(inner.verify, { now: () => clock.at });
    expect((await verify('a.b.c')).subject).toBe('a.b.c');
    expect((await verify('a.b.c')).subject).toBe('a.b.c');
    expect((await verify('d.e.f')).subject).toBe('d.e.f');
    expect((await verify('a.b.c')).subject).toBe('a.b.c');
    expect(inner.calls).toEqual(['a.b.c', 'd.e.f']);
  });

  it('verifies again once the token expires, and passes the refusal on', async () => {
    const clock = { at: 1_000_000 };
    const inner = counting(clock, 10_000);
    const verify = rememberVerified(inner.verify, { now: () => clock.at });
    await verify('a.b.c');
    clock.at += 9_999;
    await verify('a.b.c');
    expect(inner.calls).toHaveLength(1);
    clock.at += 1;
    inner.refuseFromNowOn();
    await expect(verify('a.b.c')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(inner.calls).toHaveLength(2);
  });

  it('verifies a long-lived token again after a minute', async () => {
    const clock = { at: 1_000_000 };
    const inner = counting(clock, 24 * 3_600_000);
    const verify = rememberVerified(inner.verify, { now: () => clock.at });
    await verify('a.b.c');
    clock.at += REMEMBER_VERIFIED_MS - 1;
    await verify('a.b.c');
    expect(inner.calls).toHaveLength(1);
    clock.at += 1;
    await verify('a.b.c');
    expect(inner.calls).toHaveLength(2);
  });

  it('does not remember a refusal', async () => {
    const clock = { at: 1_000_000 };
    let attempts = 0;
    const verify = rememberVerified(
      async (token) => {
        if (++attempts === 1) throw new AppError('UNAUTHENTICATED', 'no key of the identity provider matches the JWT');
        return identity(token, clock.at + 60_000);
      },
      { now: () => clock.at },
    );
    await expect(verify('a.b.c')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await verify('a.b.c')).subject).toBe('a.b.c');
    expect(attempts).toBe(2);
  });

  it('keeps at most `max` tokens, forgetting the least recently used', async () => {
    const clock = { at: 1_000_000 };
    const inner = counting(clock, 3_600_000);
    const verify = rememberVerified(inner.verify, { now: () => clock.at, max: 2 });
    await verify('t1');
    await verify('t2');
    await verify('t3');
    await verify('t3');
    await verify('t2');
    await verify('t1');
    expect(inner.calls).toEqual(['t1', 't2', 't3', 't1']);
  });
});
