import type { IncomingMessage, Server } from 'node:http';
import { type DocumentNode, type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
};

/** How long a client gets to answer the server's close frame at shutdown. */
const CLOSE_HANDSHAKE_MS = 1_000;

export interface GraphqlWebSocket {
  /** Closes every socket with 1001 (going away) and stops the server. */
  close(): Promise<void>;
}

/**
 * Serves graphql-ws (`graphql-transport-ws`) on the HTTP server's `/graphql`. Every operation
 * goes through `yoga.getEnveloped`, so it gets the same plugins, context and error policy as HTTP.
 */
// biome-ignore lint/suspicious/noExplicitAny: yoga's server and user context types are not needed here
export function attachGraphqlWebSocket(server: Server, yoga: YogaServerInstance<any, any>): GraphqlWebSocket {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request: IncomingMessage, socket, head) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== yoga.graphqlEndpoint) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  const disposable = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const request = ctx.extra.request;
        const headers = { get: (name: string) => String(request.headers[name.toLowerCase()] ?? '') || null };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params,
          request: { headers },
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
