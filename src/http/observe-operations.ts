import type { IncomingMessage } from 'node:http';
import { type DocumentNode, type ExecutionResult, type GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import type { OperationMetrics, OperationType, SubscriptionTransport } from '../metrics/index.js';
import type { AccessLog } from './access-log.js';
import { type AccessRecord, accessRecordOf, addGeneration } from './access-record.js';

/** What yoga's context carries beside ours: the node request, and the socket of a WebSocket operation. */
type ServerContext = Partial<Context> & { req?: IncomingMessage; socket?: unknown };

/** A WebSocket operation's line names its own span's trace (set on the context by operation-spans.ts), not the upgrade's. */
const withTrace = (record: AccessRecord, context: ServerContext): AccessRecord =>
  context.traceId ? { ...record, traceId: context.traceId } : record;

/**
 * Observes every GraphQL operation once: metrics by type and (bounded) name with duration and
 * error codes; subscriptions' start, end and open count; deltas sent (the stream resolvers call
 * the context's `deltaSent`); and the access record (the HTTP request's, or a line of its own for
 * an operation on a WebSocket), with the tokens of the embeddings the operation made (resolvers
 * hand the context's `embeddingUsed` to the services) and the tokens, cost and code of a
 * generation that ended within it (the `chat` subscription calls the context's `generationEnded`).
 * Runs after the error policy, so it sees the codes clients see.
 */

export function useOperationObserver(metrics: OperationMetrics, access: AccessLog): Plugin<Context> {
  const describe = (document: DocumentNode, operationName: string | null | undefined) => {
    const operation = getOperationAST(document, operationName);
    const type = (operation?.operation ?? 'query') as OperationType;
    const rawName = operation?.name?.value;
    return { type, name: metrics.nameLabel(rawName), rawName };
  };
  /** The HTTP request's record, or (WebSocket) a record of the operation's own, written at its end. */
  const recordOf = (context: ServerContext) => {
    const own = accessRecordOf(context.req);
    if (own || !access.enabled || !context.socket || !context.req) return { record: own, standalone: false };
    return { record: access.recordFor(context.req), standalone: true };
  };
  const fill = (
    record: AccessRecord | undefined,
    context: ServerContext,
    type: string,
    rawName: string | undefined,
  ) => {
    if (!record) return;
    record.operation = `${type} ${rawName ?? 'anonymous'}`.slice(0, 80);
    if (context.viewer) {
      record.userId = context.viewer.userId;
      record.apiKeyId = context.viewer.apiKeyId ?? null;
    }
    if (context.requestId) record.requestId = context.requestId;
  };
  /**
   * The context's `embeddingUsed` and `generationEnded`: an embedding's tokens (as prompt tokens),
   * and a generation's tokens, cost and code, on the record.
   */
  const figuresOn = (record: AccessRecord | undefined): Partial<Context> =>
    record
      ? {
          embeddingUsed: ({ promptTokens }) =>
            addGeneration(record, { usage: { promptTokens, completionTokens: 0 }, costNanos: null, errorCode: null }),
          generationEnded: (end) => addGeneration(record, end),
        }
      : {};
  const noteCodes = (record: AccessRecord | undefined, codes: string[], result: ExecutionResult) => {
    for (const error of (result.errors ?? []) as GraphQLError[]) {
      const code = error.extensions?.code;
      const label = typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
      if (codes.length < 10 && !codes.includes(label)) codes.push(label);
      if (record) record.code ??= label;
    }
  };

  /** HTTP requests that reached an operation (their errors are counted with it). */
  const ran = new WeakSet<object>();
  const markRan = (context: ServerContext & { request?: object }) => {
    if (context.request && !context.socket) ran.add(context.request);
  };

  return {
    onExecute({ args, extendContext }) {
      const context = args.contextValue as ServerContext;
      markRan(context);
      const started = performance.now();
      const { type, name, rawName } = describe(args.document, args.operationName);
      const { record, standalone } = recordOf(context);
      fill(record, context, type, rawName);
      extendContext(figuresOn(record));
      const codes: string[] = [];
      const end = () => {
        const ms = performance.now() - started;
        metrics.operationEnded(type, name, ms / 1000, codes);
        if (standalone && record) access.write(withTrace(record, context), { transport: 'graphql-ws', durationMs: ms });
      };
      return {
        onExecuteDone(payload) {
          if (!isAsyncIterable(payload.result)) {
            noteCodes(record, codes, payload.result);
            end();
            return;
          }
          // @defer / @stream: counted when the last increment went out
          return {
            onNext: ({ result }) => noteCodes(record, codes, result as ExecutionResult),
            onEnd: end,
          };
        },
      };
    },
    onSubscribe({ args, extendContext }) {
      const context = args.contextValue as ServerContext;
      markRan(context);
      const started = performance.now();
      const { name, rawName } = describe(args.document, args.operationName);
      const transport: SubscriptionTransport = context.socket ? 'graphql-ws' : 'sse';
      const { record, standalone } = recordOf(context);
      fill(record, context, 'subscription', rawName);
      extendContext({ deltaSent: () => metrics.deltaSent(transport), ...figuresOn(record) });
      const codes: string[] = [];
      let open = false;
      const end = () => {
        const ms = performance.now() - started;
        if (open) metrics.subscriptionEnded(name, transport, ms / 1000);
        metrics.operationEnded('subscription', name, ms / 1000, codes);
        if (standalone && record) access.write(withTrace(record, context), { transport, durationMs: ms });
      };
      return {
        onSubscribeResult(payload) {
          if (!isAsyncIterable(payload.result)) {
            noteCodes(record, codes, payload.result);
            end();
            return;
          }
          open = true;
          metrics.subscriptionStarted(name, transport);
          return {
            onNext: ({ result }) => noteCodes(record, codes, result as ExecutionResult),
            onEnd: end,
          };
        },
      };
    },
    onResultProcess({ request, result, serverContext }) {
      // Refused before any operation ran (parse, validation, limits, sign-in): an error of its own.
      if (ran.has(request) || Array.isArray(result) || isAsyncIterable(result)) return;
      const record = accessRecordOf((serverContext as ServerContext).req);
      const single = result as ExecutionResult;
      for (const error of (single.errors ?? []) as GraphQLError[]) {
        const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'BAD_USER_INPUT';
        metrics.requestRefused(code);
        if (record) record.code ??= code;
      }
    },
  };
}
