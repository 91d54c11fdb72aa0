/**
 * JWT sign-in with a shared HS256 secret (AUTH_JWT_SECRET): `sub` maps to one user created on
 * first sight and named from `name` or `email`; scopes come from `scope` or `scopes`, else the
 * defaults; tokens signed otherwise, or without `exp`, are refused. (A JWKS identity provider is
 * test/auth/credentials.test.ts and isolation.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { call, ok, type ViewerShape } from './identity-client.js';

const SECRET = randomBytes(32).toString('base64url');
const AUDIENCE = 'switchyard-tests';
const VIEWER = '{ viewer { user { id name } apiKey { id } scopes } }';

function token(claims: Record<string, unknown>, options: { secret?: string; alg?: string; exp?: boolean } = {}) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' }).setAudience(AUDIENCE);
  if (options.exp !== false) jwt = jwt.setExpirationTime('5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

describe('JWT sign-in with AUTH_JWT_SECRET', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: AUDIENCE });
  });

  it('maps sub to one user, created on first sight and named from name, else email', async () => {
    const sub = `user-${randomBytes(4).toString('hex')}`;
    const first = ok(await call<ViewerShape>(server, await token({ sub, name: 'Ada Lovelace' }), VIEWER)).viewer;
    expect(first).toMatchObject({
      user: { name: 'Ada Lovelace' },
      apiKey: null,
      scopes: ['CHAT', 'DOCUMENTS', 'MEMORY'],
    });
    const again = ok(await call<ViewerShape>(server, await token({ sub, name: 'Ada L.' }), VIEWER)).viewer;
    expect(again.user.id).toBe(first.user.id);
    const rows = await server.app.database.prisma.user.findMany({ where: { authSubject: { endsWith: `|${sub}` } } });
    expect(rows).toHaveLength(1);

    const byEmail = await token({ sub: `${sub}-2`, email: 'grace@example.com' });
    expect(ok(await call<ViewerShape>(server, byEmail, VIEWER)).viewer.user.name).toBe('grace@example.com');
  });

  it('takes scopes from scope (space-separated) or scopes (a list), and holds the token to them', async () => {
    const chatOnly = await token({ sub: 'scoped', scope: 'chat memory openid' });
    expect(ok(await call<ViewerShape>(server, chatOnly, VIEWER)).viewer.scopes).toEqual(['CHAT', 'MEMORY']);
    const refused = await call(server, chatOnly, '{ documents(first: 1) { edges { node { id } } } }');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'DOCUMENTS' });

    const admin = await token({ sub: 'operator', scopes: ['ADMIN', 'CHAT'] });
    expect(ok(await call<ViewerShape>(server, admin, VIEWER)).viewer.scopes).toEqual(['CHAT', 'ADMIN']);
    ok(await call(server, admin, '{ users(first: 5) { edges { node { id } } } }'));
  });

  it('refuses another secret, another algorithm, no exp and no credential with 401', async () => {
    const refusals = [
      await token({ sub: 'x' }, { secret: randomBytes(32).toString('base64url') }),
      await token({ sub: 'x' }, { alg: 'HS512' }),
      await token({ sub: 'x' }, { exp: false }),
      await token({ name: 'no subject' }),
      await token({ sub: 'x'.repeat(256) }),
      undefined,
    ];
    for (const credential of refusals) {
      const reply = await call(server, credential, VIEWER);
      expect(reply.status).toBe(401);
      expect(reply.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(reply.data ?? undefined).toBeUndefined();
    }
  });
});
