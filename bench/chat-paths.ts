import { connectGateway, type OpenStream, openAIStream } from './chat-clients.js';
import type { Child } from './peers/children.js';
import type { FakeUpstream, Gateway } from './peers/gateways.js';

/** One way of reaching the fake upstream: directly, through Switchyard, or through Portkey. */
export interface ChatPath {
  name: 'direct' | 'switchyard' | 'portkey';
  /** The gateway process, whose memory is measured; none for the direct path. */
  child: Child | undefined;
  /** A stream opener for `concurrency` streams at once, and how to let go of its connections. */
  connect(concurrency: number, content: string): Promise<{ open: OpenStream; close(): Promise<void> }>;
}

const AUTH = { authorization: 'Bearer sk-bench' };
/** graphql-ws multiplexes operations on a socket; one socket per this many concurrent streams. */
export const STREAMS_PER_SOCKET = 50;

export function directPath(fake: FakeUpstream): ChatPath {
  return {
    name: 'direct',
    child: undefined,
    connect: async (_concurrency, content) => ({
      open: openAIStream(`${fake.url}/v1`, content, AUTH),
      close: async () => {},
    }),
  };
}

export function portkeyPath(portkey: Gateway, fake: FakeUpstream): ChatPath {
  const headers = { ...AUTH, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fake.url}/v1` };
  return {
    name: 'portkey',
    child: portkey.child,
    connect: async (_concurrency, content) => ({
      open: openAIStream(portkey.url, content, headers),
      close: async () => {},
    }),
  };
}

export function switchyardPath(switchyard: Gateway): ChatPath {
  return {
    name: 'switchyard',
    child: switchyard.child,
    async connect(concurrency, content) {
      const sockets = await connectGateway(switchyard.url, Math.ceil(concurrency / STREAMS_PER_SOCKET));
      return { open: sockets.stream(content), close: () => sockets.close() };
    },
  };
}
