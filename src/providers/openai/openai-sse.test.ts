import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { readChatChunks } from './openai-sse.js';

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
