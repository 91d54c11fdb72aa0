import { connectGateway, type OpenStream, openAIStream } from './chat-clients.js';
import { STREAMS_PER_SOCKET } from './chat-paths.js';
import { type Child, startChild } from './peers/children.js';
import type { Gateway } from './peers/gateways.js';

// The ways of reaching the stamped upstream that the REST hot-path benchmark compares: directly,
// through Switchyard's REST surface and its GraphQL `chat`, and through Portkey.

/** The stamped upstream (bench/peers/stamped-upstream.ts), steered over IPC. */
export interface StampedUpstream {
  child: Child;
  /** Origin, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Tokens per reply and ms between them (the first is written at once). */
  pace(tokens: number, gapMs: number): Promise<void>;
  /** When each tagged request reached the upstream since the last call (monotonic ms). */
  arrivals(): Promise<Record<string, number>>;
}

export async function startStampedUpstream(): Promise<StampedUpstream> {
  const child = startChild({ script: 'bench/peers/stamped-upstream.ts', tsx: true, env: { NODE_ENV: 'production' } });
  const url = await child.ready;
  return {
    child,
    url,
    pace: async (tokens, gapMs) => void (await child.request({ type: 'pace', tokens, gapMs })),
    arrivals: async () => (await child.request<{ arrivals: Record<string, number> }>({ type: 'arrivals' })).arrivals,
  };
}

export type Api = 'openai' | 'graphql';

/** One way to the upstream; `child` is the gateway process (none for direct). */
export interface RestPath {
  name: string;
  api: Api;
  child: Child | undefined;
  /** What the stall client posts to, and with which headers (raw HTTP; see rest-stall.ts). */
  endpoint: { url: string; headers: Record<string, string> };
  /** A stream opener for `concurrency` streams at once, and how to let go of its connections. */
  connect(concurrency: number, content: string): Promise<{ open: OpenStream; close(): Promise<void> }>;
}

const UPSTREAM_KEY = { authorization: 'Bearer sk-bench' };

export function directPath(upstream: StampedUpstream): RestPath {
  return {
    name: 'direct',
    api: 'openai',
    child: undefined,
    endpoint: { url: `${upstream.url}/v1/chat/completions`, headers: UPSTREAM_KEY },
    connect: async (_concurrency, content) => ({
      open: openAIStream(`${upstream.url}/v1`, content, UPSTREAM_KEY),
      close: async () => {},
    }),
  };
}

export function portkeyPath(portkey: Gateway, upstream: StampedUpstream): RestPath {
  const headers = { ...UPSTREAM_KEY, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream.url}/v1` };
  return {
    name: 'portkey',
    api: 'openai',
    child: portkey.child,
    endpoint: { url: `${portkey.url}/chat/completions`, headers },
    connect: async (_concurrency, content) => ({
      open: openAIStream(portkey.url, content, headers),
      close: async () => {},
    }),
  };
}

/** The bare Node proxy (bench/peers/bare-proxy.ts): node:http's own cost, the floor for any Node gateway. */
export function bareProxyPath(proxy: Gateway): RestPath {
  return {
    name: 'node-floor',
    api: 'openai',
    child: proxy.child,
    endpoint: { url: `${proxy.url}/chat/completions`, headers: UPSTREAM_KEY },
    connect: async (_concurrency, content) => ({
      open: openAIStream(proxy.url, content, UPSTREAM_KEY),
      close: async () => {},
    }),
  };
}

/**
 * Switchyard's `POST /v1/chat/completions` with a stored API key; `stored`: each call kept as a
 * new conversation's turn (`x-switchyard-conversation: new`), as GraphQL `chat` keeps it.
 */
export function switchyardRestPath(name: string, gateway: Gateway, secret: string, stored = false): RestPath {
  const origin = new URL(gateway.url).origin;
  const headers: Record<string, string> = {
    authorization: `Bearer ${secret}`,
    ...(stored ? { 'x-switchyard-conversation': 'new' } : {}),
  };
  return {
    name,
    api: 'openai',
    child: gateway.child,
    endpoint: { url: `${origin}/v1/chat/completions`, headers },
    connect: async (_concurrency, content) => ({
      open: openAIStream(`${origin}/v1`, content, headers),
      close: async () => {},
    }),
  };
}

/** Switchyard's GraphQL `chat` over graphql-ws (the stall client uses GraphQL over SSE), with the key. */
export function switchyardGraphqlPath(name: string, gateway: Gateway, secret: string): RestPath {
  const authorization = `Bearer ${secret}`;
  return {
    name,
    api: 'graphql',
    child: gateway.child,
    endpoint: { url: gateway.url, headers: { authorization } },
    async connect(concurrency, content) {
      const sockets = await connectGateway(gateway.url, Math.ceil(concurrency / STREAMS_PER_SOCKET), 15_000, {
        authorization,
      });
      return { open: sockets.stream(content), close: () => sockets.close() };
    },
  };
}

/** A key made through the API by the loopback default user, as an operator would make one. */
export async function mintKey(gateway: Gateway): Promise<string> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation { createApiKey(input: { name: "bench" }) { secret } }' }),
  });
  const body = (await response.json()) as { data?: { createApiKey?: { secret: string } }; errors?: unknown };
  const secret = body.data?.createApiKey?.secret;
  if (!secret) throw new Error(`createApiKey failed: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
  return secret;
}
