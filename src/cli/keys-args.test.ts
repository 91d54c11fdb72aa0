import { describe, expect, it } from 'vitest';
import { parseKeysArgs, UsageError } from './keys-args.js';

describe('keys arguments', () => {
  it('create: default scopes, --admin adds ADMIN, --scopes replaces the defaults (any case, no repeats)', () => {
    expect(parseKeysArgs(['create', '--name', 'app'])).toEqual({
      kind: 'create',
      name: 'app',
      user: undefined,
      scopes: ['CHAT', 'DOCUMENTS', 'MEMORY'],
      allowedModels: null,
      expiresAt: null,
    });
    expect(parseKeysArgs(['create', '--name', 'ops', '--admin'])).toMatchObject({
      scopes: ['CHAT', 'DOCUMENTS', 'MEMORY', 'ADMIN'],
    });
    expect(
      parseKeysArgs(['create', '--name=ci', '--scopes', 'chat, Memory,chat', '--admin', '--user', 'ci-bot']),
    ).toMatchObject({ name: 'ci', user: 'ci-bot', scopes: ['CHAT', 'MEMORY', 'ADMIN'] });
  });

  it('create: models as a list, expiry as a date (midnight UTC) or an ISO time', () => {
    expect(parseKeysArgs(['create', '--name', 'a', '--models', 'gpt-4o-mini, fast'])).toMatchObject({
      allowedModels: ['gpt-4o-mini', 'fast'],
    });
    expect(parseKeysArgs(['create', '--name', 'a', '--expires', '2027-01-01'])).toMatchObject({
      expiresAt: new Date('2027-01-01T00:00:00.000Z'),
    });
    expect(parseKeysArgs(['create', '--name', 'a', '--expires', '2027-01-01T12:30:00+02:00'])).toMatchObject({
      expiresAt: new Date('2027-01-01T10:30:00.000Z'),
    });
  });

  it.each([
    [['create', '--name', 'a', '--scopes', 'CHAT,NOPE'], 'BAD_USER_INPUT', 'unknown scope "NOPE"'],
    [['create', '--name', 'a', '--models', 'a,,b'], 'BAD_USER_INPUT', 'comma-separated list'],
    [['create', '--name', 'a', '--expires', '01/02/2027'], 'BAD_USER_INPUT', 'is not a date'],
    [['create', '--name', 'a', '--expires', '2027-13-45'], 'BAD_USER_INPUT', 'is not a date'],
    [['create', '--name', 'x'.repeat(10_001)], 'BAD_USER_INPUT', 'too long'],
  ])('refuses bad input: %$', (argv, code, message) => {
    expect(() => parseKeysArgs(argv)).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(message) }),
    );
  });

  it.each([
    [[]],
    [['rotate']],
    [['create']],
    [['create', '--name']],
    [['create', '--name', 'a', 'extra']],
    [['create', '--name', 'a', '--colour', 'red']],
    [['list', 'all']],
    [['revoke']],
    [['revoke', 'a', 'b']],
  ])('refuses %j as a usage error', (argv) => {
    expect(() => parseKeysArgs(argv)).toThrow(UsageError);
  });

  it('help in any position is help', () => {
    expect(parseKeysArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseKeysArgs(['create', '-h'])).toEqual({ kind: 'help' });
    expect(parseKeysArgs(['revoke', 'x'])).toEqual({ kind: 'revoke', key: 'x' });
  });
});
