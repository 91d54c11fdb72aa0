import type { Db } from './database.js';

/** Until authentication lands, every request acts as this user. */
export const DEFAULT_USER_ID = '00000000-0000-4000-8000-000000000001';

export async function ensureDefaultUser(db: Db): Promise<{ id: string }> {
  return db.user.upsert({
    where: { id: DEFAULT_USER_ID },
    update: {},
    create: { id: DEFAULT_USER_ID, email: 'local@switchyard.invalid', name: 'Local user' },
    select: { id: true },
  });
}
