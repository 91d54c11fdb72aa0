import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { accessRecordOf } from '../http/access-record.js';
import type { Tracing } from '../tracing/index.js';

/**
 * Runs a REST route inside a SERVER span (`POST /v1/chat/completions`), a child of the caller's
 * `traceparent` when it sent one; the span ends when the response closes, with its status.
 */
export function startRestSpan(
  tracing: Tracing,
  tracer: Tracer,
  route: { method: string; pattern: string },
  raw: IncomingMessage,
  response: ServerResponse,
  handle: () => Promise<void>,
): Promise<void> {
  const parent = tracing.extract(header(raw, 'traceparent'), header(raw, 'tracestate'));
  const span = tracer.startSpan(
    `${route.method} ${route.pattern}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': route.method, 'http.route': route.pattern, 'url.scheme': 'http' },
    },
    parent,
  );
  const record = accessRecordOf(raw);
  if (record && span.isRecording()) record.traceId ??= span.spanContext().traceId;
  response.once('close', () => {
    const status = response.statusCode;
    span.setAttribute('http.response.status_code', status);
    if (!response.writableFinished) span.setAttribute('error.type', 'client_closed');
    else if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  return tracing.with(tracing.withSpan(parent, span), handle);
}

function header(raw: IncomingMessage, name: string): string | undefined {
  const value = raw.headers[name];
  return typeof value === 'string' && value.length <= 512 ? value : undefined;
}
