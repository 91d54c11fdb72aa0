/**
 * Indexing on /metrics: a document ingested through GraphQL shows as chunks indexed (equal to the
 * stored chunk count) and as embedding calls in the GenAI duration histogram with
 * gen_ai_operation_name=embeddings; the indexer's queue is empty again once the document is READY.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { scrapeMetrics, total } from '../helpers/prometheus.js';
import { startTestServer } from '../helpers/test-server.js';

const INGEST = `mutation Ingest($input: IngestDocumentInput!) { ingestDocument(input: $input) { id status } }`;
const STATUS = `query Doc($id: ID!) { node(id: $id) { ... on Document { status chunkCount } } }`;

describe('/metrics: indexing', () => {
  it('counts the chunks indexed and the embedding calls, and shows the queue empty afterwards', async () => {
    const server = await startTestServer();
    const before = await scrapeMetrics(server.origin);
    const paragraph = (n: number) => `## Part ${n}\n\n${'Words about sourdough, starters and ovens. '.repeat(60)}`;
    const ingested = await server.query<{ ingestDocument: { id: string } }>(INGEST, {
      input: { title: 'Bread', content: Array.from({ length: 12 }, (_, i) => paragraph(i)).join('\n\n') },
    });
    expect(ingested.errors).toBeUndefined();
    const id = ingested.data?.ingestDocument.id as string;
    const document = await eventually(
      async () => (await server.query<{ node: { status: string; chunkCount: number } }>(STATUS, { id })).data?.node,
      (node) => node?.status === 'READY',
      { what: 'the document READY' },
    );
    expect(document?.chunkCount).toBeGreaterThan(1);

    const after = await scrapeMetrics(server.origin);
    const gained = (name: string, where: Record<string, string> = {}) =>
      total(after, name, where) - total(before, name, where);
    expect(gained('switchyard_indexing_chunks_total')).toBe(document?.chunkCount);
    const embeddings = { gen_ai_operation_name: 'embeddings', gen_ai_provider_name: 'local' };
    expect(gained('gen_ai_client_operation_duration_seconds_count', embeddings)).toBeGreaterThanOrEqual(1);
    expect(total(after, 'switchyard_indexing_documents', { state: 'queued' })).toBe(0);
    expect(total(after, 'switchyard_indexing_documents', { state: 'indexing' })).toBe(0);
  });
});
