import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultSpec } from './fake-faults.js';

/** How a request ended, as the fake saw it. */
export type RequestOutcome = 'pending' | 'completed' | 'aborted' | 'cut';

/** One response being written, with the fault (if any) that applies to it. */
export interface ResponseWriter {
  res: ServerResponse;
  fault: FaultSpec | undefined;
  /** Aborts when the connection closes before the response ended. */
  closed: AbortSignal;
  /** Headers on every response of this fake (request ids). */
  headers: Record<string, string>;
  /** A chunk in the provider's framing that is not valid JSON. */
  malformedFrame: string;
  /** Marks the request as cut by the fake, so the close is not taken for a client abort. */
  markCut(): void;
}

/** Writes a JSON body, honouring the slow-start, cut, malformed and omitted-usage faults. */
export async function writeJson(w: ResponseWriter, status: number, body: unknown): Promise<void> {
  const delay = w.fault?.firstTokenDelayMs;
  if (delay) await pause(delay, w.closed);
  if (w.closed.aborted) return;
  const { cutAfterChunks, stallAfterChunks } = w.fault ?? {};
  if (cutAfterChunks !== undefined || stallAfterChunks !== undefined) {
    // headers, then a dropped connection or silence
    w.res.writeHead(status, { 'content-type': 'application/json', ...w.headers });
    w.res.flushHeaders();
    return stallAfterChunks !== undefined ? untilClosed(w.closed) : cut(w);
  }
  const reported = w.fault?.usage ? withUsage(body, w.fault.usage) : body;
  const full = JSON.stringify(w.fault?.omitUsage ? withoutUsage(reported) : reported);
  const text = w.fault?.malformedAfterChunks !== undefined ? full.slice(0, Math.ceil(full.length / 2)) : full;
  writeRaw(w, status, text, 'application/json');
}

function withUsage(body: unknown, fields: Record<string, unknown>): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const usage = (body as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return body;
  return { ...body, usage: { ...usage, ...fields } };
}

/** An SSE frame whose JSON carries a usage object, with the fault's fields over it. */
function frameWithUsage(frame: string, fields: Record<string, unknown>): string {
  const match = /^((?:event: [^\n]*\n)?data: )(\{.*\})\n\n$/s.exec(frame);
  if (!match) return frame;
  const json = JSON.parse(match[2] as string) as Record<string, unknown>;
  const nested = json.message as Record<string, unknown> | undefined;
  if (nested && typeof nested === 'object' && nested.usage) json.message = withUsage(nested, fields);
  return `${match[1]}${JSON.stringify(withUsage(json, fields))}\n\n`;
}

function withoutUsage(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { usage: _usage, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** Writes a body as is, with no fault applied: error responses use it. */
export function writeRaw(
  w: ResponseWriter,
  status: number,
  text: string,
  contentType: string,
  extra: Record<string, string> = {},
): void {
  w.res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    ...w.headers,
    ...extra,
  });
  w.res.end(text);
}

/**
 * Streams pre-framed chunks (SSE events or NDJSON lines). Each write waits until it is flushed, so
 * a cut after N chunks means the client really received N chunks.
 */
export async function writeFrames(w: ResponseWriter, contentType: string, frames: string[]): Promise<void> {
  const { fault } = w;
  w.res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...w.headers });
  w.res.flushHeaders();
  for (const [index, frame] of frames.entries()) {
    const gate = fault?.gate?.(index);
    if (gate) await unlessClosed(gate, w.closed);
    const delay = index === 0 ? fault?.firstTokenDelayMs : fault?.tokenDelayMs;
    if (delay) await pause(delay, w.closed);
    if (w.closed.aborted) return;
    if (index === fault?.stallAfterChunks) return untilClosed(w.closed);
    if (index === fault?.cutAfterChunks) return cut(w);
    if (index === fault?.endlessLineAfterChunks) return writeEndlessLine(w, fault.endlessLineBytes ?? 64 * 1024 * 1024);
    if (index === fault?.malformedAfterChunks) {
      w.res.end(w.malformedFrame);
      return;
    }
    await write(w, fault?.usage ? frameWithUsage(frame, fault.usage) : frame);
  }
  if (fault?.cutAfterChunks !== undefined && fault.cutAfterChunks >= frames.length) return cut(w);
  if (!w.closed.aborted) w.res.end();
}

/** `data: ` and then `bytes` of `x` with no line end, as long as the client reads. */
async function writeEndlessLine(w: ResponseWriter, bytes: number): Promise<void> {
  const piece = 'x'.repeat(64 * 1024);
  await write(w, 'data: ');
  for (let sent = 0; sent < bytes && !w.closed.aborted; sent += piece.length) await write(w, piece);
  if (!w.closed.aborted) w.res.end();
}

function cut(w: ResponseWriter): void {
  w.markCut();
  w.res.socket?.destroy();
}

function write(w: ResponseWriter, chunk: string): Promise<void> {
  return unlessClosed(new Promise<void>((resolve) => w.res.write(chunk, () => resolve())), w.closed);
}

/** Waits for `promise`, or until the client goes away, leaving no listener behind either way. */
function unlessClosed(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

function untilClosed(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Sleeps, but wakes early when the client goes away (no point writing to a closed socket). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
