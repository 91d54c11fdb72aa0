import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The node:http response a streaming chat call's `Response` stands for (its own body is empty). */
export const NODE_BODY = Symbol('switchyard.nodeBody');

export type StreamResponse = Response & { [NODE_BODY]?: IncomingMessage };

/** An error body is read whole into the Response; past this it is cut (the SDK only shows its start). */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * A `fetch` for the OpenAI SDK that sends streaming chat calls over node:http and hands their body
 * over as the Node stream (NODE_BODY), read by `readChatChunks` without WHATWG streams: per token,
 * undici's body stream cost this gateway about as much CPU as the rest of the relay. Every other
 * call (models, embeddings, non-streaming chat) goes to `fallback`. Keep-alive agents are the
 * provider's own. A non-2xx answer comes back as a normal Response with its (bounded) body, so the
 * SDK raises its typed errors as usual.
 */
export function createStreamFetch(fallback: typeof fetch = fetch): typeof fetch {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true }),
    'https:': new HttpsAgent({ keepAlive: true }),
  };
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body;
    const streamingChat =
      init?.method === 'POST' &&
      typeof body === 'string' &&
      url.pathname.endsWith('/chat/completions') &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      /"stream"\s*:\s*true/.test(body);
    if (!streamingChat || input instanceof Request) return fallback(input, init);
    return new Promise<Response>((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      headers['content-length'] = String(Buffer.byteLength(body));
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        headers,
        agent: agents[url.protocol as 'http:' | 'https:'],
        signal: init.signal ?? undefined,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
        }
        const status = res.statusCode ?? 502;
        const init = { status, statusText: res.statusMessage ?? '', headers: responseHeaders };
        if (status >= 200 && status < 300) {
          resolve(Object.assign(new Response(null, init), { [NODE_BODY]: res }));
          return;
        }
        const pieces: Buffer[] = [];
        let size = 0;
        res.on('data', (piece: Buffer) => {
          if (size >= MAX_ERROR_BODY) return;
          pieces.push(piece);
          size += piece.length;
        });
        res.on('end', () => resolve(new Response(Buffer.concat(pieces).subarray(0, MAX_ERROR_BODY), init)));
        res.on('error', reject);
      });
      req.end(body);
    });
  };
}
