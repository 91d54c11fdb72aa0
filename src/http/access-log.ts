import type { IncomingMessage, RequestListener } from 'node:http';
import type { Logger } from '../logger.js';
import { routeLabel } from '../metrics/http-route.js';
import { type AccessRecord, attachAccessRecord } from './access-record.js';
import { requestIdFrom } from './request-id.js';
import { traceIdFromHeaders } from './trace-parent.js';

export interface AccessLogOptions {
  logger: Logger;
  /** The config file's `accessLog.enabled`. */
  enabled: boolean;
  /** The trace id a request runs under; by default its valid `traceparent` header's. */
  traceIdOf?: (request: IncomingMessage) => string | undefined;
}

export interface AccessLog {
  readonly enabled: boolean;
  /** Wraps the server's listener: one line per HTTP request, once its response finished or the client left. */
  wrap(listener: RequestListener): RequestListener;
  /** A record for work that is not an HTTP request of its own (an operation on a WebSocket). */
  recordFor(request: IncomingMessage): AccessRecord;
  /** Writes one line for such work. */
  write(record: AccessRecord, fields: { transport: string; durationMs: number }): void;
}

/** Longest path written; the query string never is (it may hold a GraphQL GET's variables). */
const MAX_PATH = 200;

/**
 * The access log: one structured `info` line per HTTP request (REST call, GraphQL request, SSE
 * subscription at its end) and per operation on a WebSocket, with request id, trace id, viewer ids,
 * operation, status or code, duration, and tokens and cost when a generation ended within it.
 * Never a body, a prompt, a completion, a variable or a credential.
 *
 * The request id is settled here (the client's `x-request-id` when safe, else a new one) and put
 * back on the request, so that GraphQL's context and the REST routes use the same one.
 */
export function createAccessLog({ logger, enabled, traceIdOf = traceIdFromHeaders }: AccessLogOptions): AccessLog {
  const recordFor = (request: IncomingMessage): AccessRecord => ({
    requestId: requestIdFrom(request.headers['x-request-id'] as string | undefined),
    traceId: traceIdOf(request),
  });
  const write: AccessLog['write'] = (record, fields) =>
    logger.info('access', {
      requestId: record.requestId,
      traceId: record.traceId,
      transport: fields.transport,
      operation: record.operation,
      userId: record.userId,
      apiKeyId: record.apiKeyId,
      code: record.code,
      durationMs: Math.round(fields.durationMs * 10) / 10,
      tokens: record.tokens,
      costUsd: record.costUsd,
    });
  return {
    enabled,
    recordFor,
    write,
    wrap(listener) {
      if (!enabled) return listener;
      return (request, response) => {
        const started = performance.now();
        const record = recordFor(request);
        request.headers['x-request-id'] = record.requestId;
        attachAccessRecord(request, record);
        let written = false;
        const done = () => {
          if (written) return;
          written = true;
          const url = request.url ?? '/';
          const end = url.indexOf('?');
          logger.info('access', {
            requestId: record.requestId,
            traceId: record.traceId,
            transport: 'http',
            method: request.method,
            path: (end === -1 ? url : url.slice(0, end)).slice(0, MAX_PATH),
            operation: record.operation ?? `${request.method} ${routeLabel(url)}`,
            status: response.statusCode,
            // the client went away before the response ended
            ...(response.writableFinished ? {} : { aborted: true }),
            userId: record.userId,
            apiKeyId: record.apiKeyId,
            code: record.code,
            durationMs: Math.round((performance.now() - started) * 10) / 10,
            tokens: record.tokens,
            costUsd: record.costUsd,
          });
        };
        response.once('finish', done);
        response.once('close', done);
        listener(request, response);
      };
    },
  };
}
