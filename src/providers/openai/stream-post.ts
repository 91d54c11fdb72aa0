import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import OpenAI from 'openai';

/** A streaming call answered 2xx: its SSE body as the Node stream, and its headers when needed. */
export interface StreamAnswer {
  body: IncomingMessage;
  headers(): Headers;
}

/** POSTs a JSON body to the chat completions URL; rejects with the SDK's typed errors. */
export type StreamPost = (body: string, signal: AbortSignal | undefined) => Promise<StreamAnswer>;

export interface StreamPostTarget {
  /** The chat completions URL (http or https). */
  url: string;
  /** Sent with every call (authorization, organization, the provider's own headers). */
  headers: Record<string, string>;
}

/** An error body is read whole for its message; past this it is cut (only its start is shown). */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Streaming chat calls over node:http with a keep-alive agent, without the SDK's request pipeline:
 * on the time-to-first-token path the SDK took about a quarter of a millisecond per call before
 * its request left (measured at concurrency 1), more than the rest of the request's routing. A
 * non-2xx answer raises what the SDK would raise for it (`APIError.generate` over the same body),
 * a failed connection `APIConnectionError`, an abort `APIUserAbortError`, so the error mapping is
 * the SDK path's.
 */
export function createStreamPost(target: StreamPostTarget): StreamPost {
  const url = new URL(target.url);
  const secure = url.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  return (body, signal) =>
    new Promise<StreamAnswer>((resolve, reject) => {
      const headers = { ...target.headers, 'content-length': String(Buffer.byteLength(body)) };
      const req = send(url, { method: 'POST', headers, agent, signal });
      req.on('error', (error) =>
        reject(signal?.aborted ? new OpenAI.APIUserAbortError() : new OpenAI.APIConnectionError({ cause: error })),
      );
      req.on('response', (res) => {
        const status = res.statusCode ?? 502;
        if (status >= 200 && status < 300) {
          resolve({ body: res, headers: () => toHeaders(res.headers) });
          return;
        }
        readBounded(res).then(
          (text) => {
            const json = parseJson(text);
            reject(OpenAI.APIError.generate(status, json, json ? undefined : text, toHeaders(res.headers)));
          },
          (error: Error) => reject(new OpenAI.APIConnectionError({ cause: error })),
        );
      });
      req.end(body);
    });
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

function readBounded(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    let size = 0;
    res.on('data', (piece: Buffer) => {
      if (size >= MAX_ERROR_BODY) return;
      pieces.push(piece);
      size += piece.length;
    });
    res.on('end', () => resolve(Buffer.concat(pieces).subarray(0, MAX_ERROR_BODY).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
