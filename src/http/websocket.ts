import type { IncomingMessage, Server } from 'node:http';
import { type DocumentNode, type ExecutionArgs, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { AppError } from '../errors.js';
import type { Authenticator } from '../policy/authenticator.js';
import type { Viewer } from '../policy/viewer.js';
import { isAllowedOrigin, socketAuthorization } from './authentication.js';
import { watchCredential } from './credential-watch.js';

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
};

/** How long a client gets to answer the server's close frame at shutdown. */
const CLOSE_HANDSHAKE_MS = 1_000;
/** graphql-ws' close code for a refused connection_init; also used when the credential goes away. */
const FORBIDDEN = 4403;

/** What a socket's connection signed in as, kept on graphql-ws' `extra`. */
type SocketExtra = {
  request: IncomingMessage;
  socket: WebSocket;
  viewer?: Viewer;
};

export interface SocketAccess {
  auth: Pick<Authenticator, 'authenticate' | 'onRevoked'>;
  /** CORS_ORIGINS: pages there (and the server's own origin) may open sockets. */
  allowedOrigins: readonly string[];
  /** Told when a socket opens and closes (metrics). */
  sockets?: { socketOpened(): void; socketClosed(): void };
}

export interface GraphqlWebSocket {
  /** Closes every socket with 1001 (going away) and stops the server. */
  close(): Promise<void>;
}

export interface WebSocketLimits {
  /** A bigger message closes the socket with 1009 (ws' `maxPayload`). */
  maxPayloadBytes: number;
  /** Operations running at once on one socket; one more is refused with BAD_USER_INPUT. */
  maxSubscriptions: number;
  /** Open sockets from one remote address; one more upgrade is refused with HTTP 429. */
  maxSocketsPerAddress: number;
}

const DEFAULT_LIMITS: WebSocketLimits = { maxPayloadBytes: 1_048_576, maxSubscriptions: 100, maxSocketsPerAddress: 50 };

/**
 * Serves graphql-ws (`graphql-transport-ws`) on the HTTP server's `/graphql`. Every operation
 * goes through `yoga.getEnveloped`, so it gets the same plugins, context and error policy as HTTP.
 */
export function attachGraphqlWebSocket(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: yoga's server and user context types are not needed here
  yoga: YogaServerInstance<any, any>,
  access: SocketAccess,
  limits: WebSocketLimits = DEFAULT_LIMITS,
): GraphqlWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  const openPerAddress = new Map<string, number>();
  server.on('upgrade', (request: IncomingMessage, socket, head) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== yoga.graphqlEndpoint) {
      socket.destroy();
      return;
    }
    if (!isAllowedOrigin(request, access.allowedOrigins)) {
      const reason = 'this origin may not open WebSockets here';
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`,
      );
      return;
    }
    const address = request.socket.remoteAddress ?? 'unknown';
    if ((openPerAddress.get(address) ?? 0) >= limits.maxSocketsPerAddress) {
      const reason = `at most ${limits.maxSocketsPerAddress} WebSockets from one address`;
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      openPerAddress.set(address, (openPerAddress.get(address) ?? 0) + 1);
      access.sockets?.socketOpened();
      ws.once('close', () => {
        access.sockets?.socketClosed();
        const left = (openPerAddress.get(address) ?? 1) - 1;
        if (left > 0) openPerAddress.set(address, left);
        else openPerAddress.delete(address);
      });
      wss.emit('connection', ws, request);
    });
  });

  const disposable = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      // Once per socket: every operation on it runs as this viewer. `false` closes with 4403.
      onConnect: async (ctx) => {
        try {
          const { request } = ctx.extra;
          const viewer = await access.auth.authenticate(
            socketAuthorization(ctx.connectionParams, request),
            request.headers.host,
          );
          ctx.extra.viewer = viewer;
          const { socket } = ctx.extra;
          // Closed when its credential is revoked or expires (a socket already gone needs no watch).
          if (socket.readyState === socket.OPEN) {
            const stop = watchCredential(access.auth, viewer, (reason) =>
              socket.close(FORBIDDEN, closeReason(`Forbidden: ${reason}`)),
            );
            socket.once('close', stop);
          }
          return true;
        } catch (error) {
          if (AppError.isInstance(error) && error.code === 'UNAUTHENTICATED') {
            // graphql-ws would close with a bare "Forbidden"; the client is told what is wrong, as over HTTP.
            ctx.extra.socket.close(FORBIDDEN, closeReason(`Forbidden: ${error.message}`));
            return false;
          }
          // graphql-ws sends the message as the close reason: never a driver's text
          throw new Error('the credential could not be checked; try again');
        }
      },
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      // yoga marks validation errors with the HTTP status to answer; a socket has none to send
      onError: (_ctx, _id, _payload, errors) => errors.map(withoutHttpExtension),
      onSubscribe: async (ctx, _id, params) => {
        // graphql-ws has already entered this operation in ctx.subscriptions
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptions) {
          return [
            new GraphQLError(`at most ${limits.maxSubscriptions} operations may run at once on one WebSocket`, {
              extensions: { code: 'BAD_USER_INPUT', limit: 'subscriptions', max: limits.maxSubscriptions },
            }),
          ];
        }
        const request = ctx.extra.request;
        const headers = { get: (name: string) => String(request.headers[name.toLowerCase()] ?? '') || null };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params,
          request: { headers },
          viewer: ctx.extra.viewer,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const args: EnvelopedArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wss,
  );

  return {
    async close() {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      // A client that never answers the close handshake is cut after a moment, not after ws's 30 s.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, CLOSE_HANDSHAKE_MS);
      try {
        await disposable.dispose();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      } finally {
        clearTimeout(cut);
      }
    },
  };
}

/** A close frame's reason holds at most 123 bytes of UTF-8 (ws throws beyond): cut at a character. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let cut = text.slice(0, 120);
  while (Buffer.byteLength(`${cut}...`) > 123) cut = cut.slice(0, -1);
  return `${cut.replace(/[\uD800-\uDBFF]$/, '')}...`;
}

function withoutHttpExtension(error: GraphQLError): GraphQLFormattedError {
  const { http: _http, ...extensions } = error.extensions ?? {};
  return { ...error.toJSON(), extensions };
}
