import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const DOCUMENT_FIELDS = 'id title collection mimeType metadata status chunkCount createdAt';
const CHUNK_FIELDS = 'id ordinal content tokenCount';

const backends = [
  { name: 'embedded PGlite', postgres: undefined, skip: false },
  { name: 'Postgres from DATABASE_URL', postgres: postgresUrl, skip: !postgresUrl },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`search hits on ${backend.name}`, () => {
    let server: TestServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;

    beforeAll(async () => {
      scratch = backend.postgres ? await createScratchDatabase(backend.postgres) : undefined;
      server = await startTestServer(scratch ? { DATABASE_URL: scratch.url } : {});
    });
    afterAll(async () => {
      await server?.close();
      await scratch?.drop();
    });

    it('carry the same chunk and document a direct read returns, in every mode', async () => {
      const ingested = await server.query<{ ingestDocument: { id: string } }>(
        'mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }',
        {
          input: {
            title: 'Glaciers',
            collection: 'earth',
            mimeType: 'text/markdown',
            metadata: { source: 'field notes', year: 2026 },
            content: '# Glaciers\n\nA glacier moves downhill under its own weight, carving valleys into the rock.',
          },
        },
      );
      const id = ingested.data?.ingestDocument.id as string;
      await eventually(
        () =>
          server.query<{ document: { status: string } }>('query ($id: ID!) { document(id: $id) { status } }', { id }),
        (r) => r.data?.document.status === 'READY',
        { what: `document ${id} READY` },
      );
      const direct = await server.query<{ document: { chunks: { edges: { node: unknown }[] } } }>(
        `query ($id: ID!) { document(id: $id) { ${DOCUMENT_FIELDS} chunks { edges { node { ${CHUNK_FIELDS} } } } } }`,
        { id },
      );
      expect(direct.errors).toBeUndefined();
      const read = direct.data?.document as { chunks: { edges: { node: unknown }[] } };
      const { chunks, ...document } = read;
      expect(document).toMatchObject({ id, status: 'READY', metadata: { source: 'field notes', year: 2026 } });
      for (const mode of ['VECTOR', 'KEYWORD', 'HYBRID']) {
        const found = await server.query<{ search: { document: unknown; chunk: unknown }[] }>(
          `query ($mode: SearchMode) { search(query: "glacier valleys", mode: $mode, k: 1) {
             document { ${DOCUMENT_FIELDS} } chunk { ${CHUNK_FIELDS} document { id title } } } }`,
          { mode },
        );
        expect(found.errors).toBeUndefined();
        expect(found.data?.search).toEqual([
          { document, chunk: { ...(chunks.edges[0]?.node as object), document: { id, title: 'Glaciers' } } },
        ]);
      }
    });
  });
}
