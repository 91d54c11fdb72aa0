import type { IncomingMessage } from 'node:http';
import OpenAI from 'openai';
import type { StreamAnswer } from './stream-post.js';

/** Where the first event of `text` ends (a blank line, in any of SSE's three line endings), and the separator's length. */
function eventEnd(text: string): [number, number] | undefined {
  const lf = text.indexOf('\n\n');
  if (lf >= 0 && !text.includes('\r', 0)) return [lf, 2];
  // Rare: a server that uses CR or CRLF line endings.
  const match = /\r\n\r\n|\r\r|\n\n/.exec(text);
  return match ? [match.index, match[0].length] : undefined;
}

interface SseEvent {
  event: string | undefined;
  data: string;
}

function parseEvent(block: string): SseEvent | undefined {
  // The common frame is one `data:` line: no splitting needed.
  if (block.startsWith('data: ') && !block.includes('\n') && !block.includes('\r'))
    return { event: undefined, data: block.slice(6) };
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}

/**
 * The chunks of a streamed chat completion, read from the raw response. Does what the SDK's
 * `Stream` does for chat (`[DONE]` ends it, an `error` payload throws the SDK's APIError) with a
 * single pass over the text: per token, the SDK's generic SSE decoder cost about as much CPU as
 * everything else the gateway does with the token. Like the SDK's, it ends quietly when `signal`
 * aborted the call. Stopping early cancels the body. A call sent by `createStreamPost` is read from
 * its Node stream; a Response (the SDK's call through a caller's own `fetch`) from its WHATWG body.
 */
export async function* readChatChunks(
  response: StreamAnswer | Response,
  signal: AbortSignal | undefined,
): AsyncGenerator<OpenAI.ChatCompletionChunk> {
  const node = isStreamAnswer(response);
  const pieces = node ? nodeText(response.body) : webText(response);
  const headers = () => (node ? response.headers() : response.headers);
  let pending = '';
  let done = false;
  // Leaving the loop early (return, break, throw) makes for-await close `pieces`: the connection
  // goes. After `[DONE]` the rest is read and dropped, as the SDK does, so the connection is reused.
  try {
    for await (const piece of pieces) {
      if (done) continue;
      pending += piece;
      for (let end = eventEnd(pending); end; end = eventEnd(pending)) {
        const event = parseEvent(pending.slice(0, end[0]));
        pending = pending.slice(end[0] + end[1]);
        if (!event) continue;
        if (event.data.startsWith('[DONE]')) {
          done = true;
          break;
        }
        const data = JSON.parse(event.data) as OpenAI.ChatCompletionChunk & { error?: unknown; message?: string };
        if (event.event === 'error' || data?.error) {
          throw new OpenAI.APIError(undefined, data.error ?? data, data.message, headers());
        }
        yield data;
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}

function isStreamAnswer(response: StreamAnswer | Response): response is StreamAnswer {
  return typeof response.headers === 'function';
}

/** The body's text, decoded across reads. */
async function* nodeText(body: IncomingMessage): AsyncGenerator<string> {
  body.setEncoding('utf8');
  try {
    for await (const piece of body) yield piece as string;
  } finally {
    if (!body.readableEnded) body.destroy();
  }
}

async function* webText(response: Response): AsyncGenerator<string> {
  if (!response.body) throw new OpenAI.APIError(undefined, undefined, 'The stream has no body', response.headers);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let done = false;
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) {
        done = true;
        const rest = decoder.decode();
        if (rest !== '') yield rest;
        return;
      }
      yield decoder.decode(read.value, { stream: true });
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}
