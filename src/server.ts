import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFetch } from '@whatwg-node/fetch';
import { createYoga } from 'graphql-yoga';
import { type App, type AppOptions, createApp } from './app.js';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { createAccessLog } from './http/access-log.js';
import { argumentLimitsFor, useArgumentLimits } from './http/argument-limits.js';
import { withAuthenticationFirst } from './http/authenticate-first.js';
import { asHttpAuthError } from './http/authentication.js';
import { withBodyLimit } from './http/body-limit.js';
import { corsPolicy, useVaryOnOrigin } from './http/cors.js';
import { useCsrfPrevention } from './http/csrf-prevention.js';
import { maskUnexpected, useErrorPolicy } from './http/error-policy.js';
import { useHealthRoutes } from './http/health-routes.js';
import { useOperationObserver } from './http/observe-operations.js';
import { useOperationSpans } from './http/operation-spans.js';
import { useQueryLimits } from './http/query-limits.js';
import { useRequestErrorCodes } from './http/request-error-codes.js';
import { createResponseHeaders } from './http/response-headers.js';
import { useRevocableStreams } from './http/revocable-streams.js';
import { attachGraphqlWebSocket } from './http/websocket.js';
import { createLogger, type Logger } from './logger.js';
import { metricsEndpoint, withHttpMetrics } from './metrics/index.js';
import type { Viewer } from './policy/viewer.js';
import { MAX_DOCUMENT_BYTES } from './rag/document-service.js';
import { createRestApi } from './rest/rest-api.js';
import { restFamilies } from './rest/rest-families.js';
import { schema } from './schema/index.js';
import { coalesceWrites } from './util/coalesced-writes.js';

export interface Server {
  /** `http://host:port/graphql` */
  url: string;
  port: number;
  app: App;
  /** The port `/metrics` is served on: `port`, or METRICS_PORT's listener when set. */
  metricsPort: number;
  /** Resolves once migrations are applied and the server can serve data. */
  ready: Promise<void>;
  /**
   * Drains, then closes: not ready and no new generations at once, running generations finish
   * within `shutdownTimeoutMs` (the rest end INTERRUPTED) and their subscribers get the terminal
   * event; then stops accepting, closes WebSockets with 1001, lets in-flight HTTP finish briefly,
   * and closes the database.
   */
  close(): Promise<void>;
}

export interface ServerOptions extends AppOptions {
  /** The trace id the access log gives a request; by default its valid `traceparent` header's. */
  traceIdOf?: ((request: IncomingMessage) => string | undefined) | undefined;
}

/** One process, one port: GraphQL over HTTP, SSE and WebSocket on `/graphql`, health beside it. */
export async function createServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  options: ServerOptions = {},
): Promise<Server> {
  const app = await createApp(config, logger, options);
  const accessLog = createAccessLog({ logger, enabled: config.file.accessLog.enabled, traceIdOf: options.traceIdOf });
  const responseHeaders = createResponseHeaders();
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    // A WebSocket operation brings the viewer its connection signed in as; HTTP has its header checked.
    context: ({ request, viewer }) =>
      app.createContext(request, viewer as Viewer | undefined).then(
        // graphql-ws passes the upgrade request, which gets no response of its own.
        (context) => (viewer ? context : { ...context, responseHeaders: responseHeaders.of(request) }),
        (error) => {
          throw asHttpAuthError(error);
        },
      ),
    graphiql: { title: 'Switchyard', defaultQuery: GRAPHIQL_DEFAULT_QUERY },
    // The GraphiQL page is a 9 MB module: loaded when a browser first asks for it, not at start-up.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    landingPage: false,
    // withBodyLimit bounds every body by its declared length before yoga runs (node:http reads no
    // more than that); yoga's own limit would pipe each request body through a TransformStream.
    maxRequestBodySize: false,
    cors: corsPolicy(config.auth.corsOrigins),
    maskedErrors: { maskError: maskUnexpected },
    // Uploads stop buffering one byte past the document limit (the resolver then says why).
    fetchAPI: createFetch({ formDataLimits: { fileSize: MAX_DOCUMENT_BYTES + 1, files: 1, fieldSize: 1024 * 1024 } }),
    plugins: [
      useVaryOnOrigin(),
      useCsrfPrevention(),
      useHealthRoutes(app.services.health),
      ...useQueryLimits(config.file.graphql),
      useArgumentLimits(argumentLimitsFor(config)),
      useRequestErrorCodes(),
      useErrorPolicy(logger),
      useRevocableStreams(app.auth),
      // After the error policy: it sees the codes clients see.
      useOperationObserver(app.metrics.operations, accessLog),
      responseHeaders.plugin(),
      useOperationSpans(app.tracing),
    ],
    logging: {
      debug: (...args) => logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => logger.warn(String(args[0]), { args: args.slice(1) }),
      error: (...args) => logger.error(String(args[0]), { args: args.slice(1) }),
    },
  });

  const api = createRestApi(
    restFamilies({ app, config }),
    withBodyLimit(
      withAuthenticationFirst(yoga, app.auth, { path: yoga.graphqlEndpoint, allowedOrigins: config.auth.corsOrigins }),
      config.file.graphql.maxBodyBytes,
    ),
    logger,
    config.file.rest,
    app.tracing,
  );
  const serveMetrics = metricsEndpoint(app.metrics, config.metrics.token);
  const separateMetrics = config.metrics.port !== undefined;
  const http = createHttpServer(
    accessLog.wrap(
      config.metrics.enabled
        ? withHttpMetrics((request, response) => {
            if (separateMetrics || !serveMetrics(request, response)) api(request, response);
          }, app.metrics)
        : api,
    ),
  );
  // Every response, SSE stream and WebSocket: what one turn writes leaves in one system call.
  http.on('connection', coalesceWrites);
  // METRICS_PORT: a listener of its own (same host) that serves only /metrics.
  const metricsHttp = separateMetrics
    ? createHttpServer((request, response) => {
        if (serveMetrics(request, response)) return;
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Not found: this port serves /metrics\n');
      })
    : undefined;
  const websocket = attachGraphqlWebSocket(
    http,
    yoga,
    { auth: app.auth, allowedOrigins: config.auth.corsOrigins, sockets: app.metrics.operations },
    config.file.graphql.websocket,
  );
  try {
    await listen(http, config.port, config.host);
    if (metricsHttp) await listen(metricsHttp, config.metrics.port ?? 0, config.host);
  } catch (error) {
    if (http.listening) http.close();
    await app.close();
    throw error;
  }
  const { port } = http.address() as AddressInfo;
  const metricsPort = metricsHttp ? (metricsHttp.address() as AddressInfo).port : port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}${yoga.graphqlEndpoint}`;
  logger.info('switchyard listening', {
    url,
    metrics: `http://${host}:${metricsPort}/metrics`,
    database: app.database.kind,
    redis: Boolean(app.redis),
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    metricsPort,
    app,
    ready: app.bootstrapped,
    close: () => {
      closing ??= (async () => {
        // Still listening while draining: health checks see 503, readers can still attach.
        await app.drain(config.shutdownTimeoutMs).catch((error) => logger.error('drain failed', { error }));
        // Let graphql-ws queue the `complete` of operations whose last event just went out.
        await new Promise((resolve) => setImmediate(resolve));
        if (metricsHttp) {
          metricsHttp.close();
          metricsHttp.closeAllConnections();
        }
        await shutdown(http, Math.min(config.shutdownTimeoutMs, HTTP_GRACE_MS), async () => {
          await websocket.close();
          await yoga.dispose();
          await app.close();
        });
      })();
      return closing;
    },
  };
}

/** After the drain, how long in-flight HTTP (queries, SSE of other instances' messages) may take. */
const HTTP_GRACE_MS = 2_000;

function listen(server: HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function shutdown(http: HttpServer, timeoutMs: number, closeRest: () => Promise<void>): Promise<void> {
  const drained = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await closeRest().catch(() => {});
  const timer = setTimeout(() => http.closeAllConnections(), timeoutMs);
  await drained;
  clearTimeout(timer);
}

const GRAPHIQL_DEFAULT_QUERY = `# Welcome to Switchyard. Signing in: put your key in the Headers tab below,
# {"Authorization": "Bearer sk-sy-..."} (README: Keys and sign-in). Try:
query Health {
  health { status database { status latencyMs } redis { status } }
  conversations(first: 5) { edges { node { id title updatedAt } } }
}
`;
