import type { IncomingMessage } from 'node:http';
import { type Context, type Span, SpanKind } from '@opentelemetry/api';
import type { ExecutionResult, GraphQLError, OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { markSpanFailed, type Tracing } from '../tracing/index.js';
import { accessRecordOf } from './access-record.js';

interface HeaderSource {
  request?: { headers?: { get(name: string): string | null } };
}

/**
 * One SERVER span per GraphQL operation, `{type} {name}` (`mutation SendMessage`), a child of the
 * caller's `traceparent`; resolvers run with it active, so upstream calls, queries and Redis
 * commands are its children. A subscription's span lasts until its stream ends. Errors are
 * recorded by `extensions.code` as `error.type`. Without tracing the plugin adds no hooks.
 */
export function useOperationSpans(tracing: Tracing): Plugin {
  const tracer = tracing.tracer;
  if (!tracer) return {};
  const start = (args: { contextValue: unknown; document: unknown; operationName?: string | null | undefined }) => {
    const operation = operationOf(args.document, args.operationName);
    const type = operation?.operation ?? 'query';
    const name = operation?.name?.value;
    const headers = (args.contextValue as HeaderSource).request?.headers;
    const parent = tracing.extract(bounded(headers?.get('traceparent')), bounded(headers?.get('tracestate')));
    const span = tracer.startSpan(
      name ? `${type} ${name}` : type,
      {
        kind: SpanKind.SERVER,
        attributes: { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
      },
      parent,
    );
    if (span.isRecording() && args.contextValue && typeof args.contextValue === 'object') {
      const { traceId } = span.spanContext();
      (args.contextValue as { traceId?: string }).traceId = traceId;
      // The access log line of an HTTP request names the trace its spans are in.
      const record = accessRecordOf((args.contextValue as { req?: IncomingMessage }).req);
      if (record) record.traceId ??= traceId;
    }
    return { span, ctx: tracing.withSpan(parent, span) };
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const { span, ctx } = start(args);
      setExecuteFn((execArgs) => tracing.with(ctx, () => executeFn(execArgs)));
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result) {
            // @defer / @stream: ends with its last increment.
            return {
              onNext: ({ result: next }) => recordErrors(span, next),
              onEnd: () => span.end(),
            };
          }
          recordErrors(span, result);
          span.end();
          return undefined;
        },
      };
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { span, ctx } = start(args);
      setSubscribeFn((subscribeArgs) => tracing.with(ctx, () => subscribeFn(subscribeArgs)));
      return {
        onSubscribeResult({ result, setResult }) {
          if (Symbol.asyncIterator in result) {
            // graphql-ws pulls events from its own async context: each pull runs in the span's.
            setResult(pulledIn(tracing, ctx, result));
            return { onNext: ({ result: next }) => recordErrors(span, next), onEnd: () => span.end() };
          }
          recordErrors(span, result);
          span.end();
          return undefined;
        },
        onSubscribeError({ error }) {
          recordErrors(span, { errors: [error as GraphQLError] });
          span.end();
        },
      };
    },
  };
}

function pulledIn<T>(tracing: Tracing, ctx: Context, source: AsyncIterable<T>): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const pulled: AsyncIterableIterator<T> = {
    next: () => tracing.with(ctx, () => iterator.next()),
    return: (value?: unknown) =>
      tracing.with(ctx, () => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: value as T })),
    throw: (error?: unknown) => tracing.with(ctx, () => iterator.throw?.(error) ?? Promise.reject(error)),
    [Symbol.asyncIterator]: () => pulled,
  };
  return pulled;
}

function operationOf(document: unknown, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const definitions = (document as { definitions?: readonly { kind: string }[] } | undefined)?.definitions ?? [];
  const operations = definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
}

/** The first error's code is the span's `error.type` (the conventions' one value per span). */
function recordErrors(span: Span, result: ExecutionResult | { errors?: readonly GraphQLError[] }): void {
  const first = result.errors?.[0];
  if (!first || !span.isRecording()) return;
  markSpanFailed(span, first.extensions?.code);
}

const bounded = (value: string | null | undefined) => (value && value.length <= 512 ? value : undefined);
