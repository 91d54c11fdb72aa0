import { describe, expect, it } from 'vitest';
import { boundedFetch } from './bounded-fetch.js';

/** A fetch answering with `pieces` as the body, under `type`; `cancelled` tells whether the body was cancelled. */
function answering(type: string, pieces: () => Iterable<string>) {
  const state = { cancelled: false, sent: 0 };
  const fetch = (async () => {
    const encoder = new TextEncoder();
    const iterator = pieces()[Symbol.iterator]();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = iterator.next();
        if (next.done) controller.close();
        else {
          state.sent += next.value.length;
          controller.enqueue(encoder.encode(next.value));
        }
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return new Response(body, { headers: { 'content-type': type } });
  }) as typeof globalThis.fetch;
  return { fetch, state };
}

const limits = { lineBytes: 1_000, bodyBytes: 5_000 };

describe('boundedFetch', () => {
  it('passes streamed answers whose lines stay short, however long the whole', async () => {
    const { fetch } = answering('text/event-stream', function* () {
      for (let i = 0; i < 100; i++) yield `data: ${'x'.repeat(300)}\n\n`;
    });
    const text = await (await boundedFetch(fetch, limits)('http://upstream')).text();
    expect(text.length).toBe(100 * 308);
  });

  it('fails a streamed answer once a line passes the limit, and stops reading it', async () => {
    const { fetch, state } = answering('application/x-ndjson; charset=utf-8', function* () {
      yield '{"a":1}\n';
      for (;;) yield 'y'.repeat(100);
    });
    await expect((await boundedFetch(fetch, limits)('http://upstream')).text()).rejects.toThrow(
      /line of more than 1000/,
    );
    expect(state.sent).toBeLessThan(2_000);
    expect(state.cancelled).toBe(true);
  });

  it('counts a line across reads, and a CR as a line end', async () => {
    const { fetch } = answering('text/event-stream', function* () {
      for (let i = 0; i < 50; i++) yield `${'z'.repeat(600)}\r`;
    });
    expect((await (await boundedFetch(fetch, limits)('http://upstream')).text()).length).toBe(50 * 601);
    const { fetch: endless } = answering('text/event-stream', function* () {
      for (let i = 0; i < 50; i++) yield 'z'.repeat(600);
    });
    await expect((await boundedFetch(endless, limits)('http://upstream')).text()).rejects.toThrow(/line/);
  });

  it('fails any other answer past the body limit, and keeps status and headers', async () => {
    const { fetch } = answering('application/json', function* () {
      for (;;) yield '[1,2,3,4,5,6,7,8,9],';
    });
    const response = await boundedFetch(fetch, limits)('http://upstream');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow(/passed 5000 bytes/);
  });
});
