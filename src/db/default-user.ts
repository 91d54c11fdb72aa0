import type { Db } from './database.js';

/** Until authentication lands, every request acts as this user. */
export const DEFAULT_USER_ID = '00000000-0000-4000-8000-000000000001';

/** One statement, so replicas starting together on one database do not race to create it. */
export async function ensureDefaultUser(db: Db): Promise<{ id: string }> {
  await db.$executeRaw`
    INSERT INTO "users" ("id", "email", "name")
    VALUES (${DEFAULT_USER_ID}::uuid, 'local@switchyard.invalid', 'Local user')
    ON CONFLICT DO NOTHING`;
  return { id: DEFAULT_USER_ID };
}
