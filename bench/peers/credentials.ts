import { PrismaPg } from '@prisma/adapter-pg';
import { SignJWT } from 'jose';
import pg from 'pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { insertApiKey, userNamed } from '../../src/policy/api-keys.js';
import { DEFAULT_SCOPES } from '../../src/policy/scopes.js';

/** A stored key for a user named `bench` in the (already migrated) database; returns its secret. */
export async function createStoredKey(databaseUrl: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  try {
    const user = await userNamed(db, 'bench');
    const { secret } = await insertApiKey(db, {
      userId: user.id,
      name: 'bench',
      scopes: DEFAULT_SCOPES,
      allowedModels: null,
      expiresAt: null,
    });
    return secret;
  } finally {
    await db.$disconnect();
    await pool.end();
  }
}

/** An HS256 token as an identity provider would issue it, valid for `validSeconds`. */
export async function signBenchJwt(secret: string, validSeconds: number): Promise<string> {
  return new SignJWT({ name: 'Bench User', email: 'bench@example.com' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + validSeconds)
    .sign(new TextEncoder().encode(secret));
}
