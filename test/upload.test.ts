import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DOCUMENT_BYTES } from '../src/rag/document-service.js';
import { minimalPdf, SAMPLE_PDF_PAGES } from './fixtures/minimal-pdf.js';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

const UPLOAD = `mutation ($file: File!, $title: String, $collection: String, $metadata: JSON) {
  uploadDocument(file: $file, title: $title, collection: $collection, metadata: $metadata) {
    id title mimeType metadata status } }`;
const SEARCH = `query ($q: String!, $mode: SearchMode) {
  search(query: $q, mode: $mode, k: 5) { document { title mimeType } chunk { content } } }`;

interface Uploaded {
  id: string;
  title: string;
  mimeType: string;
  metadata: Record<string, unknown> | null;
  status: string;
}
interface Reply {
  status: number;
  body: { data?: { uploadDocument: Uploaded } | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** One request of the GraphQL multipart request spec: `operations`, then `map`, then the file part. */
async function upload(
  server: TestServer,
  file: File,
  variables: Record<string, unknown> = {},
  { withMap = true } = {},
): Promise<Reply> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: UPLOAD, variables: { ...variables, file: null } }));
  if (withMap) form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  const response = await fetch(server.url, {
    method: 'POST',
    body: form,
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

describe('uploadDocument (GraphQL multipart request)', () => {
  let server: TestServer;
  const docs: Record<string, Uploaded> = {};

  const waitUntilReady = async (id: string) => {
    const r = await eventually(
      () => server.query<{ document: { status: string } }>('query ($id: ID!) { document(id: $id) { status } }', { id }),
      (r) => r.data?.document.status !== 'PENDING' && r.data?.document.status !== 'INDEXING',
      { what: `document ${id} to finish indexing` },
    );
    return r.data?.document.status;
  };

  const expectRejected = async (reply: Reply | Promise<Reply>, message: RegExp) => {
    const before = await server.app.database.prisma.document.count();
    const { status, body } = await reply;
    expect(status).toBe(200);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(message);
    expect(await server.app.database.prisma.document.count()).toBe(before);
  };

  beforeAll(async () => {
    server = await startTestServer();
    // No declared type, as curl sends for .md: the extension decides.
    const md = await upload(server, new File([fixture('beekeeping.md')], 'beekeeping.md'), {
      title: 'Beekeeping notes',
      metadata: { source: 'field notebook' },
    });
    const pdf = await upload(server, new File([fixture('sample.pdf')], 'sample.pdf', { type: 'application/pdf' }), {
      collection: 'manuals',
    });
    for (const [name, reply] of Object.entries({ md, pdf })) {
      expect(reply.body.errors).toBeUndefined();
      docs[name] = reply.body.data?.uploadDocument as Uploaded;
      expect(await waitUntilReady(docs[name].id)).toBe('READY');
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it('stores each file under its own type, titled by the file name unless given, with file facts in metadata', () => {
    expect(docs.md).toMatchObject({
      title: 'Beekeeping notes',
      mimeType: 'text/markdown',
      metadata: { source: 'field notebook', fileName: 'beekeeping.md' },
    });
    expect(docs.pdf).toMatchObject({
      title: 'sample.pdf',
      mimeType: 'application/pdf',
      metadata: { fileName: 'sample.pdf', pageCount: 2 },
    });
  });

  it.each([
    ['KEYWORD', 'capped brood laying queen', 'Beekeeping notes'],
    ['HYBRID', 'when to harvest honey frames', 'Beekeeping notes'],
    ['KEYWORD', 'Fresnel lens lamp wick', 'sample.pdf'],
    ['HYBRID', 'diaphone blasts in thick fog', 'sample.pdf'],
  ])('%s search for "%s" ranks %s first', async (mode, q, title) => {
    const r = await server.query<{ search: { document: { title: string }; chunk: { content: string } }[] }>(SEARCH, {
      q,
      mode,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.search[0]?.document.title).toBe(title);
  });

  it('indexes the text of every PDF page, pages separated by a blank line', async () => {
    const r = await server.query<{ document: { chunks: { edges: { node: { content: string } }[] } } }>(
      'query ($id: ID!) { document(id: $id) { chunks { edges { node { content } } } } }',
      { id: docs.pdf?.id },
    );
    const text = r.data?.document.chunks.edges.map((e) => e.node.content).join('\n') ?? '';
    for (const line of SAMPLE_PDF_PAGES.flat()) expect(text).toContain(line);
    expect(text).toContain(`${SAMPLE_PDF_PAGES[0]?.at(-1)}\n\n${SAMPLE_PDF_PAGES[1]?.[0]}`);
  });

  it('rejects an unsupported type with BAD_USER_INPUT naming what is accepted, and stores nothing', async () => {
    const zip = new File([Buffer.from('PK\u0003\u0004 not really a zip')], 'notes.zip', { type: 'application/zip' });
    await expectRejected(upload(server, zip), /notes\.zip \(application\/zip\) is not accepted; upload Markdown.*PDF/);
  });

  it('rejects a file over the size limit with BAD_USER_INPUT, and stores nothing', async () => {
    const big = new File([Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 'x')], 'big.txt', { type: 'text/plain' });
    await expectRejected(upload(server, big), /at most 5242880/);
  });

  it.each([
    ['a PDF without a text layer', minimalPdf([[]]), /no text layer; OCR is not supported/],
    ['a file that is not a PDF', Buffer.from('%PDF-1.4\nnothing else'), /not a readable PDF/],
  ])('rejects %s with BAD_USER_INPUT, and stores nothing', async (_label, bytes, message) => {
    await expectRejected(
      upload(server, new File([new Uint8Array(bytes)], 'scan.pdf', { type: 'application/pdf' })),
      message,
    );
  });

  it('rejects binary content under a text name', async () => {
    await expectRejected(upload(server, new File([Buffer.from([0xff, 0xfe, 0x00, 0x01])], 'x.txt')), /not UTF-8/);
  });

  it('answers a multipart request without a map with a clear error, not a 500, and stores nothing', async () => {
    const before = await server.app.database.prisma.document.count();
    const { status, body } = await upload(server, new File(['hello'], 'hello.txt'), {}, { withMap: false });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/\$file.*must not be null/);
    expect(await server.app.database.prisma.document.count()).toBe(before);
  });

  it('refuses a File variable that is not a file part', async () => {
    const r = await server.query(UPLOAD, { file: 'just a string' });
    expect(r.errors?.[0]?.message).toMatch(/File must be a file part of a multipart request/);
  });
});
