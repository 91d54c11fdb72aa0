import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalId } from '../src/schema/global-id.js';
import { bigMarkdown } from './fixtures/big-markdown.js';
import { inflationBombPdf, pageCountBombPdf } from './fixtures/pdf-bombs.js';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const UPLOAD = `mutation ($file: File!, $title: String) {
  uploadDocument(file: $file, title: $title) { id status } }`;
const STATUS = 'query ($id: ID!) { document(id: $id) { status chunkCount } }';

interface Reply {
  data?: { uploadDocument: { id: string; status: string } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function upload(server: TestServer, file: File): Promise<Reply> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null, title: file.name } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  const response = await fetch(server.url, {
    method: 'POST',
    body: form,
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  return (await response.json()) as Reply;
}

/** The event loop's pulse: `/health/live` must answer while heavy work is under way. */
async function live(server: TestServer): Promise<number> {
  return (await fetch(`${server.origin}/health/live`)).status;
}

describe('heavy documents do not stall the event loop (embedded default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const status = async (id: string) =>
    (await server.query<{ document: { status: string; chunkCount: number } }>(STATUS, { id })).data?.document;
  const running = () => server.app.heavyWork.stats();

  it('refuses a PDF whose page stream inflates to 400 MB, answering /health/live while it reads it', async () => {
    const bomb = inflationBombPdf(400 * 1024 * 1024);
    const before = await server.app.database.prisma.document.count();
    let settled = false;
    const reply = upload(server, new File([new Uint8Array(bomb)], 'bomb.pdf', { type: 'application/pdf' })).finally(
      () => {
        settled = true;
      },
    );
    // Answers that came back while the upload was on a worker thread and still unanswered.
    let answeredWhileReading = 0;
    while (!settled) {
      const reading = running().extraction.running > 0;
      expect(await live(server)).toBe(200);
      if (reading && !settled && running().extraction.running > 0) answeredWhileReading++;
    }
    const { errors } = await reply;
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors?.[0]?.message).toMatch(/inflate to more than \d+ bytes/);
    expect(answeredWhileReading).toBeGreaterThanOrEqual(3);
    expect(await server.app.database.prisma.document.count()).toBe(before);
    expect(running().extraction).toMatchObject({ running: 0, waiting: 0 });
  });

  it('refuses a PDF of 40,000 pages with BAD_USER_INPUT, and the reading thread is free again', async () => {
    const { errors } = await upload(server, new File([new Uint8Array(pageCountBombPdf(40_000))], 'pages.pdf'));
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors?.[0]?.message).toMatch(/40000 pages; at most \d+ are accepted/);
    expect(running().extraction).toMatchObject({ running: 0, waiting: 0 });
  });

  // Indexing all of it on the embedded database takes minutes on a busy machine: the benchmark
  // (bench/health-live.ts) runs it to READY; here it runs until batches are landing, then is deleted.
  it('indexes a 5 MB Markdown document while /health/live keeps answering, through chunking and batches', async () => {
    const markdown = bigMarkdown(5_000_000);
    const { data, errors } = await upload(server, new File([markdown], 'manual.md'));
    expect(errors).toBeUndefined();
    const id = data?.uploadDocument.id as string;
    // Each step: a liveness probe, then a status read. A probe counts when the document was INDEXING
    // with no chunk written yet and being chunked on a thread on both sides of it.
    const seen = new Set<string>();
    let answeredWhileChunking = 0;
    let previous = await status(id);
    const chunking = (document: typeof previous) =>
      document?.status === 'INDEXING' && document.chunkCount === 0 && running().chunking > 0;
    const batches = () => [...seen].filter((s) => s.startsWith('INDEXING:') && s !== 'INDEXING:0').length;
    await eventually(
      async () => {
        const before = chunking(previous);
        expect(await live(server)).toBe(200);
        const current = await status(id);
        if (before && chunking(current)) answeredWhileChunking++;
        seen.add(`${current?.status}:${current?.chunkCount}`);
        previous = current;
        return current?.status;
      },
      // three distinct batch counts seen, with a liveness answer between each
      (s) => s === 'READY' || s === 'FAILED' || batches() >= 3,
      { what: 'the 5 MB document to land three batches of chunks', timeoutMs: 600_000, everyMs: 5 },
    );
    expect((await status(id))?.status).not.toBe('FAILED');
    expect(answeredWhileChunking).toBeGreaterThanOrEqual(3);
    expect(batches()).toBeGreaterThanOrEqual(3);
    const deleted = await server.query('mutation ($id: ID!) { deleteDocument(id: $id) }', { id });
    expect(deleted.errors).toBeUndefined();
  }, 900_000);

  it('deleting a document mid-indexing stops its work: no chunks, the thread cancelled and free', async () => {
    const { data } = await upload(server, new File([bigMarkdown(4_000_000, 7)], 'doomed.md'));
    const id = data?.uploadDocument.id as string;
    const cancelledBefore = running().indexing.cancelled;
    await eventually(
      () => running().indexing.running,
      (n) => n > 0,
      { what: 'its chunking on an indexing thread' },
    );
    const deleted = await server.query<{ deleteDocument: string }>('mutation ($id: ID!) { deleteDocument(id: $id) }', {
      id,
    });
    expect(deleted.errors).toBeUndefined();
    const stats = await eventually(
      () => running().indexing,
      (s) => s.running === 0,
      { what: 'the indexing thread to be free' },
    );
    expect(stats.cancelled).toBe(cancelledBefore + 1);
    const uuid = parseGlobalId(id, 'Document');
    expect(await server.app.database.prisma.chunk.count({ where: { documentId: uuid } })).toBe(0);
    expect(await server.app.database.prisma.document.count({ where: { id: uuid } })).toBe(0);
  }, 300_000);
});
