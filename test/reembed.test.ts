import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const SEARCH = '{ search(query: "glacier meltwater", mode: VECTOR, k: 3) { document { title } } }';

async function untilReady(server: TestServer) {
  await eventually(
    () => server.app.database.prisma.document.count({ where: { status: { in: ['PENDING', 'INDEXING'] } } }),
    (pending) => pending === 0,
    { what: 'no document PENDING or INDEXING' },
  );
}

describe('moving a corpus to a new embedding model', () => {
  it('searches only vectors of the active model, and reembed moves documents and memories over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-reembed-'));
    try {
      let server = await startTestServer({ DATA_DIR: dir, EMBEDDING_MODEL: 'local/hash-256' });
      await server.query(
        'mutation { ingestDocument(input: { title: "Glaciers", content: "Glacier meltwater feeds the rivers in spring." }) { id } }',
      );
      await server.query('mutation { remember(input: { content: "The user studies glaciers" }) { id } }');
      await untilReady(server);
      expect((await server.query<{ search: unknown[] }>(SEARCH)).data?.search).toHaveLength(1);
      await server.close();

      server = await startTestServer({ DATA_DIR: dir });
      try {
        expect((await server.query<{ search: unknown[] }>(SEARCH)).data?.search).toEqual([]);
        expect(
          (await server.query<{ recall: unknown[] }>('{ recall(query: "glaciers") { score } }')).data?.recall,
        ).toEqual([]);
        const moved = await server.query<{ reembed: { documents: number; memories: number; model: string } }>(
          'mutation { reembed { documents memories model } }',
        );
        expect(moved.data?.reembed).toEqual({ documents: 1, memories: 1, model: 'local/hash-384' });
        await untilReady(server);
        expect(
          (await server.query<{ search: { document: { title: string } }[] }>(SEARCH)).data?.search[0]?.document.title,
        ).toBe('Glaciers');
        expect(
          (await server.query<{ recall: unknown[] }>('{ recall(query: "glaciers") { score } }')).data?.recall,
        ).toHaveLength(1);
        const models = await server.app.database.prisma.chunk.groupBy({ by: ['embeddingModel'], _count: true });
        expect(models).toEqual([{ embeddingModel: 'local/hash-384', _count: 1 }]);
        const again = await server.query<{ reembed: { documents: number } }>('mutation { reembed { documents } }');
        expect(again.data?.reembed.documents).toBe(0);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
