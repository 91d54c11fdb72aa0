import { type Link, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { MessageStreamEvent, MessageStreamStore } from '../stream-store/types.js';
import type { Tracing } from './create-tracing.js';

/**
 * Carries a generation's trace with its stream, so that a follower on any instance joins it:
 * the first delta takes the writer's `traceparent` (Redis keeps it in the entry), and a reader
 * that gets it opens a CONSUMER span `follow message stream` as a child of the generation's
 * context, linked to the reader's own operation span. A reader that starts past the first delta
 * (resuming with `afterSeq`) cannot know the generation's trace and makes no span. Without
 * tracing the store is returned as it is.
 */
export function traceStreams<T extends MessageStreamStore>(store: T, tracing: Tracing): T {
  const tracer = tracing.tracer;
  if (!tracer) return store;
  return {
    ...store,
    begin: (messageId) => store.begin(messageId),
    appendDelta(delta) {
      if (delta.seq !== 1) return store.appendDelta(delta);
      const traceparent = tracing.traceparent();
      return store.appendDelta(traceparent ? { ...delta, traceparent } : delta);
    },
    end: (event) => store.end(event),
    read(messageId, afterSeq, signal) {
      const reader = trace.getSpan(tracing.active())?.spanContext();
      const links: Link[] = reader && trace.isSpanContextValid(reader) ? [{ context: reader }] : [];
      const events = store.read(messageId, afterSeq, signal);
      return (async function* followed(): AsyncGenerator<MessageStreamEvent> {
        let span: Span | undefined;
        let deltas = 0;
        try {
          for await (const event of events) {
            if (event.kind === 'delta') {
              deltas++;
              if (!span && event.traceparent) {
                span = tracer.startSpan(
                  'follow message stream',
                  {
                    kind: SpanKind.CONSUMER,
                    links,
                    attributes: { 'switchyard.message.id': messageId, 'messaging.operation.type': 'receive' },
                  },
                  tracing.extract(event.traceparent),
                );
              }
            } else span?.setAttribute('switchyard.message.end', event.kind);
            yield event;
          }
        } finally {
          span?.setAttribute('switchyard.message.deltas', deltas);
          span?.end();
        }
      })();
    },
    close: () => store.close(),
    ...(store.buffered ? { buffered: store.buffered.bind(store) } : {}),
    ...(store.streaming ? { streaming: store.streaming.bind(store) } : {}),
  };
}
