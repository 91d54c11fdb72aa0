import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { MAX_STREAM_LINE_BYTES } from '../bounded-fetch.js';
import { readChatChunks } from './openai-sse.js';
import type { StreamAnswer } from './stream-post.js';

/** A response whose body arrives in the given pieces (split anywhere, even inside a character). */
function responseOf(pieces: (string | Uint8Array)[], onCancel?: () => void): Response {
  const encoder = new TextEncoder();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[index++];
      if (piece === undefined) controller.close();
      else controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece);
    },
    cancel: () => onCancel?.(),
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

const chunkJson = (content: string) => JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content } }] });

async function contents(response: Response): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of readChatChunks(response, undefined)) out.push(chunk.choices[0]?.delta.content ?? '');
  return out;
}

describe('readChatChunks', () => {
  it('reads events split across reads, in LF, CRLF and CR line endings, and stops at [DONE]', async () => {
    const whole = `data: ${chunkJson('a')}\n\ndata: ${chunkJson('b')}\r\n\r\n: a comment\n\ndata: ${chunkJson('c')}\r\rdata: [DONE]\n\ndata: ${chunkJson('never')}\n\n`;
    const bytes = new TextEncoder().encode(whole);
    const pieces = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.slice(i * 7, i * 7 + 7));
    expect(await contents(responseOf(pieces))).toEqual(['a', 'b', 'c']);
  });

  it('decodes a multi-byte character split between reads, and joins multi-line data', async () => {
    const json = chunkJson('é😀');
    const bytes = new TextEncoder().encode(`event: message\ndata: ${json.slice(0, 10)}\ndata: ${json.slice(10)}\n\n`);
    const cut = bytes.indexOf(0xf0) + 2;
    // Multi-line data joins with a newline, which JSON allows between tokens here.
    expect(await contents(responseOf([bytes.slice(0, cut), bytes.slice(cut)]))).toEqual(['é😀']);
  });

  it('throws the SDK error for an error payload, as the SDK does', async () => {
    const error = { message: 'overloaded', type: 'server_error' };
    const reading = contents(responseOf([`data: ${chunkJson('a')}\n\n`, `data: ${JSON.stringify({ error })}\n\n`]));
    await expect(reading).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(reading).rejects.toThrow(/overloaded/);
  });

  it('ends at the end of the body without [DONE], and cancels the body when the reader stops early', async () => {
    expect(await contents(responseOf([`data: ${chunkJson('a')}\n\n`]))).toEqual(['a']);
    let cancelled = false;
    const response = responseOf([`data: ${chunkJson('a')}\n\ndata: ${chunkJson('b')}\n\n`, 'data: '], () => {
      cancelled = true;
    });
    for await (const _ of readChatChunks(response, undefined)) break;
    expect(cancelled).toBe(true);
  });
});

/** A createStreamPost answer whose body is a PassThrough the test writes into. */
function nodeAnswer(): { answer: StreamAnswer; body: PassThrough } {
  const body = new PassThrough();
  return { answer: { body: body as unknown as IncomingMessage, headers: () => new Headers() }, body };
}

async function nodeContents(answer: StreamAnswer, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of readChatChunks(answer, signal)) out.push(chunk.choices[0]?.delta.content ?? '');
  return out;
}

describe('readChatChunks on a Node stream', () => {
  it('reads events split across reads, stops at [DONE] and reads the rest of the body so the connection is reused', async () => {
    const { answer, body } = nodeAnswer();
    const whole = `data: ${chunkJson('a')}\n\ndata: ${chunkJson('b')}\r\n\r\n: a comment\n\ndata: ${chunkJson('c')}\r\rdata: [DONE]\n\ndata: ${chunkJson('never')}\n\n`;
    const reading = nodeContents(answer);
    for (let i = 0; i < whole.length; i += 7) body.write(whole.slice(i, i + 7));
    expect(await reading).toEqual(['a', 'b', 'c']);
    body.end(`data: ${chunkJson('after')}\n\n`);
    await once(body, 'end');
    expect(body.readableEnded).toBe(true);
  });

  it('hands chunks before an error payload first, then throws the SDK error', async () => {
    const { answer, body } = nodeAnswer();
    const out: string[] = [];
    const reading = (async () => {
      for await (const chunk of readChatChunks(answer, undefined)) out.push(chunk.choices[0]?.delta.content ?? '');
    })();
    const error = { message: 'overloaded', type: 'server_error' };
    body.write(`data: ${chunkJson('a')}\n\ndata: ${JSON.stringify({ error })}\n\n`);
    await expect(reading).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(out).toEqual(['a']);
  });

  it('ends at the end of the body without [DONE]; a reader that stops early ends the body', async () => {
    const first = nodeAnswer();
    first.body.end(`data: ${chunkJson('a')}\n\n`);
    expect(await nodeContents(first.answer)).toEqual(['a']);
    const second = nodeAnswer();
    second.body.write(`data: ${chunkJson('a')}\n\ndata: ${chunkJson('b')}\n\n`);
    for await (const _ of readChatChunks(second.answer, undefined)) break;
    expect(second.body.destroyed).toBe(true);
  });

  it('pauses the body while many parsed chunks wait for the reader, and resumes as it reads', async () => {
    const { answer, body } = nodeAnswer();
    const iterator = readChatChunks(answer, undefined)[Symbol.asyncIterator]();
    body.write(Array.from({ length: 200 }, (_, i) => `data: ${chunkJson(String(i))}\n\n`).join(''));
    await new Promise((resolve) => setImmediate(resolve));
    expect(body.isPaused()).toBe(true);
    const seen: string[] = [];
    for (let i = 0; i < 200; i++) {
      const next = await iterator.next();
      seen.push(next.done ? 'end' : (next.value.choices[0]?.delta.content ?? ''));
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    expect(body.isPaused()).toBe(false);
    body.end('data: [DONE]\n\n');
    expect((await iterator.next()).done).toBe(true);
  });

  it('fails, and ends the body, when an upstream event never ends', async () => {
    const { answer, body } = nodeAnswer();
    const reading = nodeContents(answer);
    const piece = `data: ${'x'.repeat(64 * 1024)}`;
    for (let sent = 0; sent <= MAX_STREAM_LINE_BYTES && !body.destroyed; sent += piece.length) body.write(piece);
    await expect(reading).rejects.toThrow(/passed/);
    expect(body.destroyed).toBe(true);
  });

  it('ends quietly when the call was aborted, and fails with the error otherwise', async () => {
    const aborted = nodeAnswer();
    const controller = new AbortController();
    const quiet = nodeContents(aborted.answer, controller.signal);
    aborted.body.write(`data: ${chunkJson('a')}\n\n`);
    controller.abort();
    aborted.body.destroy(new Error('aborted'));
    expect(await quiet).toEqual(['a']);
    const failed = nodeAnswer();
    const loud = nodeContents(failed.answer);
    failed.body.destroy(new Error('socket hang up'));
    await expect(loud).rejects.toThrow(/socket hang up/);
  });
});

describe('readChatChunks on a slow drip', () => {
  it('reads an event sent a character at a time, across CRLF endings split between reads', async () => {
    const { answer, body } = nodeAnswer();
    const reading = nodeContents(answer);
    const whole = `data: ${chunkJson('a')}\r\n\r\ndata: ${chunkJson('b')}\n\ndata: [DONE]\n\n`;
    for (const char of whole) body.write(char);
    body.end();
    expect(await reading).toEqual(['a', 'b']);
  });
});
