import type { Db } from '../../src/db/database.js';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';

/** Writes a conversation with `turns` user/assistant pairs straight to the database. */
export async function seedConversation(db: Db, options: { title: string; turns?: number; userId?: string }) {
  const userId = options.userId ?? DEFAULT_USER_ID;
  const conversation = await db.conversation.create({ data: { userId, title: options.title, model: 'mock-echo' } });
  for (let i = 0; i < (options.turns ?? 0); i++) {
    const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i * 2));
    await db.message.create({
      data: {
        conversationId: conversation.id,
        userId,
        role: 'USER',
        content: `question ${i}`,
        status: 'COMPLETE',
        createdAt,
      },
    });
    await db.message.create({
      data: {
        conversationId: conversation.id,
        userId,
        role: 'ASSISTANT',
        content: `answer ${i}`,
        status: 'COMPLETE',
        provider: 'mock',
        model: 'mock-echo',
        promptTokens: 3,
        completionTokens: 2,
        createdAt: new Date(createdAt.getTime() + 1000),
      },
    });
  }
  return conversation;
}

export async function seedOtherUser(db: Db) {
  return db.user.create({ data: { email: `other-${Date.now()}-${Math.random()}@example.test` } });
}
