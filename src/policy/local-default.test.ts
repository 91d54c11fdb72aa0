import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db/database.js';
import { createLogger } from '../logger.js';
import { createAppPubSub } from '../pubsub/pubsub.js';
import { createAuthenticator } from './authenticator.js';

/** A database that answers "are there stored keys?" with `keys.exist`, counting the questions. */
function keysTable() {
  const state = { exist: false, queries: 0 };
  const db = {
    $queryRaw: async () => {
      state.queries++;
      await new Promise((resolve) => setImmediate(resolve));
      return [{ exist: state.exist }];
    },
  } as unknown as Db;
  return { state, db };
}

function open(db: Db) {
  const logger = createLogger('silent');
  return createAuthenticator({
    db,
    settings: { adminKey: undefined, jwt: undefined, corsOrigins: [] },
    loopbackOnly: true,
    defaultUserId: '00000000-0000-4000-8000-000000000001',
    pubsub: createAppPubSub(undefined, logger),
    logger,
  });
}

describe('the loopback default', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the database once for a burst of anonymous requests', async () => {
    const { state, db } = keysTable();
    const auth = open(db);
    const viewers = await Promise.all(Array.from({ length: 100 }, () => auth.authenticate(undefined)));
    expect(viewers.every((v) => v.via === 'local-default')).toBe(true);
    expect(state.queries).toBe(1);
    auth.close();
  });

  it('checks again after half a second without keeping requests waiting, and ends once a key appears', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { state, db } = keysTable();
    const auth = open(db);
    expect((await auth.authenticate(undefined)).via).toBe('local-default');
    state.exist = true;
    vi.setSystemTime(Date.now() + 499);
    expect((await auth.authenticate(undefined)).via).toBe('local-default');
    expect(state.queries).toBe(1);
    vi.setSystemTime(Date.now() + 1);
    // This one starts the check and, like any request while it runs, gets the last answer at once.
    expect((await auth.authenticate(undefined)).via).toBe('local-default');
    expect(state.queries).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(state.queries).toBe(2);
    auth.close();
  });

  it('never answers from a check older than a second: after a quiet second the request waits for a new one', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { state, db } = keysTable();
    const auth = open(db);
    await auth.authenticate(undefined);
    state.exist = true;
    vi.setSystemTime(Date.now() + 1_000);
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(state.queries).toBe(2);
    auth.close();
  });

  it('keeps the last answer when a check fails, and checks again on the next request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { state, db } = keysTable();
    const auth = open(db);
    await auth.authenticate(undefined);
    const query = db.$queryRaw;
    db.$queryRaw = (async () => {
      state.queries++;
      throw new Error('connection refused');
    }) as unknown as Db['$queryRaw'];
    vi.setSystemTime(Date.now() + 500);
    expect((await auth.authenticate(undefined)).via).toBe('local-default');
    await new Promise((resolve) => setImmediate(resolve));
    db.$queryRaw = query;
    state.exist = true;
    expect((await auth.authenticate(undefined)).via).toBe('local-default');
    await new Promise((resolve) => setImmediate(resolve));
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(state.queries).toBe(3);
    auth.close();
  });

  it('while the database has never answered, serves only what needs no scope, then decides', async () => {
    const { state, db } = keysTable();
    const query = db.$queryRaw;
    db.$queryRaw = (async () => {
      state.queries++;
      throw new Error('connection refused');
    }) as unknown as Db['$queryRaw'];
    const auth = open(db);
    expect(await auth.authenticate(undefined)).toMatchObject({ via: 'local-default', scopes: [] });
    db.$queryRaw = query;
    state.exist = true;
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    auth.close();
  });
});
