import { SpanKind } from '@opentelemetry/api';
import type { Tracing } from './create-tracing.js';
import { markSpanFailed } from './span-error.js';

type UsageSink = ((usage: { promptTokens: number }) => void) | undefined;

interface Searches {
  search(
    userId: string,
    query: string,
    k: number,
    mode: string,
    collection?: string | null,
    onUsage?: UsageSink,
  ): Promise<unknown[]>;
}

/**
 * A `retrieval` span (the GenAI conventions' retrieval operation) around every search of the
 * documents: GraphQL `search`, grounded chat and the search tool alike. The query text is never
 * recorded; the mode, k and how many chunks came back are. Returned as it is when tracing is off.
 */
export function traceRetrieval<T extends Searches>(documents: T, tracing: Tracing): T {
  const tracer = tracing.tracer;
  if (!tracer) return documents;
  const search = documents.search.bind(documents);
  return {
    ...documents,
    async search(...args: Parameters<Searches['search']>) {
      const [, , k, mode, collection] = args;
      const span = tracer.startSpan(
        'retrieval',
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'gen_ai.operation.name': 'retrieval',
            'gen_ai.request.top_k': k,
            'switchyard.search.mode': mode,
            ...(collection ? { 'gen_ai.data_source.id': collection } : {}),
          },
        },
        tracing.active(),
      );
      try {
        const hits = await tracing.with(tracing.withSpan(tracing.active(), span), () => search(...args));
        span.setAttribute('switchyard.search.hits', hits.length);
        return hits;
      } catch (error) {
        markSpanFailed(span, (error as { code?: unknown }).code);
        throw error;
      } finally {
        span.end();
      }
    },
  } as T;
}
