import { loadConfig } from '../src/config.js';
import { DEFAULT_USER_ID } from '../src/db/default-user.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { type LatencySummary, measure, summarise } from './stats.js';

const QUERY = '{ conversations(first: 20) { edges { node { id title updatedAt } } pageInfo { hasNextPage } } }';

export interface ReadPathRow {
  path: string;
  concurrency: number;
  latencyMs: LatencySummary;
}

/**
 * What GraphQL over HTTP adds to a read: `conversations(first: 20)` through the server against
 * the same Prisma query called directly, on the same embedded database, in one run.
 */
export async function benchReadPath(requests: number): Promise<ReadPathRow[]> {
  const config = loadConfig({ PORT: '0', DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
  const server = await createServer(config, createLogger('silent'));
  await server.ready;
  const db = server.app.database.prisma;
  await db.conversation.createMany({
    data: Array.from({ length: 50 }, (_, i) => ({ userId: DEFAULT_USER_ID, title: `conversation ${i}` })),
  });
  const direct = () =>
    db.conversation.findMany({
      where: { userId: DEFAULT_USER_ID },
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      take: 21,
      select: { id: true, title: true, updatedAt: true },
    });
  const viaGraphql = async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  };
  const rows: ReadPathRow[] = [];
  try {
    for (const concurrency of [1, 10]) {
      await measure(100, concurrency, direct);
      await measure(100, concurrency, viaGraphql);
      rows.push({
        path: 'prisma direct',
        concurrency,
        latencyMs: summarise(await measure(requests, concurrency, direct)),
      });
      rows.push({
        path: 'graphql http',
        concurrency,
        latencyMs: summarise(await measure(requests, concurrency, viaGraphql)),
      });
    }
  } finally {
    await server.close();
  }
  return rows;
}
