import type { AuthSettings } from '../src/config/auth-settings.js';
import type { Db } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { generateApiKeySecret } from '../src/policy/api-key-secret.js';
import { createAuthenticator } from '../src/policy/authenticator.js';
import { createJwtVerifier } from '../src/policy/jwt.js';
import { createAppPubSub } from '../src/pubsub/pubsub.js';
import { signBenchJwt } from './peers/credentials.js';
import { median } from './stats.js';

/** `jwt-verify`: jose's signature and claims check alone, which every request paid before tokens were remembered. */
export type MicroVariant = 'none' | 'admin-key' | 'api-key' | 'jwt' | 'jwt-verify';

export interface MicroRow {
  variant: MicroVariant;
  calls: number;
  /** Median over the repeats of the mean time of one `authenticate()` call, in µs. */
  usPerCall: number;
  repeats: number[];
}

const JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnop';
const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnop';

/**
 * What `authenticate()` itself costs per request, in process, with the database answered from
 * memory: the part of a request's time that the credential adds, without the noise of a chat.
 */
export async function benchAuthMicro(calls = 20_000, repeats = 5): Promise<MicroRow[]> {
  const logger = createLogger('silent');
  const key = generateApiKeySecret();
  const jwt = await signBenchJwt(JWT_SECRET, 3_600);
  const row = {
    id: '00000000-0000-4000-8000-0000000000aa',
    userId: '00000000-0000-4000-8000-0000000000bb',
    scopes: ['CHAT'],
    allowedModels: null,
    revokedAt: null,
    expiresAt: null,
  };
  // Only what the authenticator calls; every answer from memory.
  const db = {
    apiKey: { findUnique: async () => row },
    $queryRaw: async (strings: TemplateStringsArray) =>
      strings.join('').includes('EXISTS') ? [{ exist: false }] : [{ id: row.userId }],
    $executeRaw: async () => 0,
  } as unknown as Db;
  const none: AuthSettings = { adminKey: undefined, jwt: undefined, corsOrigins: [] };
  const cases: { variant: MicroVariant; settings: AuthSettings; header: string | undefined }[] = [
    { variant: 'none', settings: none, header: undefined },
    { variant: 'admin-key', settings: { ...none, adminKey: ADMIN_KEY }, header: `Bearer ${ADMIN_KEY}` },
    { variant: 'api-key', settings: none, header: `Bearer ${key}` },
    {
      variant: 'jwt',
      settings: {
        ...none,
        jwt: { kind: 'secret', secret: new TextEncoder().encode(JWT_SECRET), issuer: undefined, audience: undefined },
      },
      header: `Bearer ${jwt}`,
    },
  ];
  const rows: MicroRow[] = [];
  const verify = createJwtVerifier({
    kind: 'secret',
    secret: new TextEncoder().encode(JWT_SECRET),
    issuer: undefined,
    audience: undefined,
  });
  rows.push({ variant: 'jwt-verify', calls, ...(await timed(() => verify(jwt), calls, repeats)) });
  for (const c of cases) {
    const auth = createAuthenticator({
      db,
      settings: c.settings,
      loopbackOnly: true,
      defaultUserId: '00000000-0000-4000-8000-000000000001',
      pubsub: createAppPubSub(undefined, logger),
      logger,
    });
    try {
      const expected = c.variant === 'none' ? 'local-default' : c.variant;
      const viewer = await auth.authenticate(c.header);
      if (viewer.via !== expected) throw new Error(`${c.variant}: signed in as ${viewer.via}`);
      rows.push({ variant: c.variant, calls, ...(await timed(() => auth.authenticate(c.header), calls, repeats)) });
    } finally {
      auth.close();
    }
  }
  return rows;
}

/** `repeats` runs of `calls` awaited calls after a warm-up; the median run's µs per call. */
async function timed(call: () => Promise<unknown>, calls: number, repeats: number) {
  for (let i = 0; i < 1_000; i++) await call();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await call();
    times.push(((performance.now() - t0) / calls) * 1_000);
  }
  return { usPerCall: median(times), repeats: times };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchAuthMicro()) {
    console.log(
      `${r.variant.padEnd(10)} ${r.usPerCall.toFixed(2).padStart(8)} µs/call  (${r.repeats.map((t) => t.toFixed(1)).join(' ')})`,
    );
  }
}
