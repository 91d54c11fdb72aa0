import OpenAI from 'openai';
import { MAX_STREAM_LINE_BYTES } from '../bounded-fetch.js';
import type { StreamAnswer } from './stream-post.js';

/**
 * Where the first event of `text` at or after `from` ends (a blank line, in any of SSE's three line
 * endings), and the separator's length. `cr`: the text may hold a CR (rare: CR or CRLF endings).
 */
function eventEnd(text: string, from: number, cr: boolean): [number, number] | undefined {
  if (!cr) {
    const lf = text.indexOf('\n\n', from);
    return lf < 0 ? undefined : [lf, 2];
  }
  const separator = /\r\n\r\n|\r\r|\n\n/g;
  separator.lastIndex = from;
  const match = separator.exec(text);
  return match ? [match.index, match[0].length] : undefined;
}

/**
 * Text read that holds no complete event yet. Each read is searched from where the last search
 * stopped (less the 3 characters a separator could have begun with): an upstream that drips an
 * endless event a byte at a time costs linear time, not quadratic.
 */
interface PendingText {
  text: string;
  searched: number;
  cr: boolean;
}

const emptyPending = (): PendingText => ({ text: '', searched: 0, cr: false });

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

type Chunk = OpenAI.ChatCompletionChunk & { error?: unknown; message?: string };

/**
 * Adds `piece` to `pending` and hands `take` the chunks of the events it completes, in order.
 * Returns true at `[DONE]` (the rest of the piece is dropped). Throws the SDK's APIError for an
 * error payload, as the SDK's stream does.
 */
function takeEvents(
  pending: PendingText,
  piece: string,
  take: (chunk: OpenAI.ChatCompletionChunk) => void,
  headers: () => Headers,
): boolean {
  pending.text += piece;
  pending.cr ||= piece.includes('\r');
  let from = Math.max(0, pending.searched - 3);
  for (let end = eventEnd(pending.text, from, pending.cr); end; end = eventEnd(pending.text, from, pending.cr)) {
    const event = parseEvent(pending.text.slice(0, end[0]));
    pending.text = pending.text.slice(end[0] + end[1]);
    from = 0;
    if (!event) continue;
    if (event.data.startsWith('[DONE]')) {
      Object.assign(pending, emptyPending());
      return true;
    }
    const data = JSON.parse(event.data) as Chunk;
    if (event.event === 'error' || data?.error) {
      throw new OpenAI.APIError(undefined, data.error ?? data, data.message, headers());
    }
    take(data);
  }
  pending.searched = pending.text.length;
  if (pending.text === '') pending.cr = false;
  // An upstream that never ends its event would otherwise grow this without bound (the limit the
  // SDK clients' answers get, src/providers/bounded-fetch.ts).
  if (pending.text.length > MAX_STREAM_LINE_BYTES)
    throw new Error(`an upstream SSE event passed ${MAX_STREAM_LINE_BYTES} characters`);
  return false;
}

/**
 * The chunks of a streamed chat completion, read from the raw response. Does what the SDK's
 * `Stream` does for chat (`[DONE]` ends it, an `error` payload throws the SDK's APIError) with a
 * single pass over the text: per token, the SDK's generic SSE decoder cost about as much CPU as
 * everything else the gateway does with the token. Like the SDK's, it ends quietly when `signal`
 * aborted the call. Stopping early ends the connection; after `[DONE]` the rest of the body is read
 * and dropped, so the connection is reused. A call sent by `createStreamPost` is read from its Node
 * stream; a Response (the SDK's call through a caller's own `fetch`) from its WHATWG body.
 */
export function readChatChunks(
  response: StreamAnswer | Response,
  signal: AbortSignal | undefined,
): AsyncIterable<OpenAI.ChatCompletionChunk> {
  return isStreamAnswer(response) ? nodeChunks(response, signal) : webChunks(response, signal);
}

/** Parsed chunks the reader has not asked for yet; past this the socket is paused. */
const HIGH_WATER_CHUNKS = 64;

/**
 * The Node stream's chunks, parsed in its `data` events and handed to a waiting `next()` directly:
 * one promise per chunk, where async iteration of the stream and two generators on top took
 * several (this runs for every token of every stream).
 */
function nodeChunks(
  answer: StreamAnswer,
  signal: AbortSignal | undefined,
): AsyncIterableIterator<OpenAI.ChatCompletionChunk> {
  const { body } = answer;
  const queue: OpenAI.ChatCompletionChunk[] = [];
  let head = 0;
  const pending = emptyPending();
  /** `[DONE]` seen, the body ended, or the reader stopped: nothing more is handed out. */
  let finished = false;
  let failure: { error: unknown } | undefined;
  let waiter:
    | { resolve: (r: IteratorResult<OpenAI.ChatCompletionChunk>) => void; reject: (e: unknown) => void }
    | undefined;

  const settleWaiter = () => {
    const current = waiter;
    if (!current) return;
    waiter = undefined;
    if (head < queue.length) current.resolve({ value: shift(), done: false });
    else if (failure) current.reject(failure.error);
    else if (finished) current.resolve({ value: undefined, done: true });
    else waiter = current;
  };
  const shift = () => {
    const value = queue[head++] as OpenAI.ChatCompletionChunk;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    if (body.isPaused() && queue.length - head < HIGH_WATER_CHUNKS / 2 && !finished) body.resume();
    return value;
  };
  const onData = (piece: string) => {
    if (finished || failure) return;
    try {
      if (takeEvents(pending, piece, (chunk) => queue.push(chunk), answer.headers)) finished = true;
    } catch (error) {
      failure = { error };
      body.destroy();
    }
    if (queue.length - head >= HIGH_WATER_CHUNKS && !finished) body.pause();
    settleWaiter();
  };
  const onEnd = () => {
    finished = true;
    settleWaiter();
  };
  const onError = (error: Error) => {
    // An abort ends the stream quietly, as the SDK's does; any other failure is the reader's error.
    if (!failure && !finished && !signal?.aborted) failure = { error };
    finished = true;
    settleWaiter();
  };
  body.setEncoding('utf8');
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
  // A body destroyed without an error (the socket closed under it) ends the stream.
  body.on('close', onEnd);

  return {
    next() {
      if (head < queue.length) return Promise.resolve({ value: shift(), done: false });
      if (failure) return Promise.reject(failure.error);
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return() {
      const drained = finished && !failure;
      finished = true;
      queue.length = 0;
      head = 0;
      // After [DONE] the rest is read and dropped (the connection is reused); else the call ends.
      if (!body.readableEnded && !drained) body.destroy();
      else body.resume();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* webChunks(
  response: Response,
  signal: AbortSignal | undefined,
): AsyncGenerator<OpenAI.ChatCompletionChunk> {
  const pending = emptyPending();
  const out: OpenAI.ChatCompletionChunk[] = [];
  let done = false;
  // Leaving the loop early (return, break, throw) makes for-await close `pieces`: the connection
  // goes. After `[DONE]` the rest is read and dropped, as the SDK does, so the connection is reused.
  try {
    for await (const piece of webText(response)) {
      if (done) continue;
      let failure: { error: unknown } | undefined;
      try {
        done = takeEvents(
          pending,
          piece,
          (chunk) => out.push(chunk),
          () => response.headers,
        );
      } catch (error) {
        failure = { error };
      }
      // The chunks before an error payload in the same read come first.
      yield* out.splice(0);
      if (failure) throw failure.error;
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}

function isStreamAnswer(response: StreamAnswer | Response): response is StreamAnswer {
  return typeof response.headers === 'function';
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
