import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type pg from 'pg';
import type { Tracing } from './create-tracing.js';

/** Statement text kept on a span: ours are parametrised (values are bound, never in the text). */
const MAX_QUERY_TEXT = 2_048;
const FIRST_WORD = /^\s*(\w+)/;
const TARGET = /\b(?:from|into|update|table)\s+"?(\w+)"?(?:\."?(\w+)"?)?/i;

/**
 * Gives every statement run through `pool` inside a traced request a CLIENT span
 * (`SELECT Message`, `db.system.name=postgresql`): Prisma's queries (its `pg` adapter) and the
 * raw SQL runner both go through `pool.query`. Statements of interactive transactions (a client
 * checked out with `connect`) are not wrapped: few, and inside spans of their own callers. Statements with no request around
 * them (sweeps, indexing batches) make no span. Nothing is wrapped when tracing is off.
 */
export function tracePostgres(pool: pg.Pool, tracing: Tracing): void {
  const tracer = tracing.tracer;
  if (!tracer) return;
  {
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as { query: unknown }).query = (...args: unknown[]) => {
      const parent = tracing.active();
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
      // Callback and submittable forms (cursors) pass through untraced: we use neither.
      if (!trace.getSpan(parent) || typeof text !== 'string' || typeof args.at(-1) === 'function')
        return query(...args);
      const operation = FIRST_WORD.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
      const target = TARGET.exec(text.slice(0, 500));
      const collection = target ? (target[2] ?? target[1]) : undefined;
      const span = tracer.startSpan(
        collection ? `${operation} ${collection}` : operation,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'postgresql',
            'db.operation.name': operation,
            ...(collection ? { 'db.collection.name': collection } : {}),
            'db.query.text': text.length > MAX_QUERY_TEXT ? text.slice(0, MAX_QUERY_TEXT) : text,
          },
        },
        parent,
      );
      const result = query(...args);
      if (!(result instanceof Promise)) {
        span.end();
        return result;
      }
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          const code = (error as { code?: unknown }).code;
          span.setAttribute('error.type', typeof code === 'string' ? code : 'error');
          if (typeof code === 'string') span.setAttribute('db.response.status_code', code);
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          throw error;
        },
      );
    };
  }
}
