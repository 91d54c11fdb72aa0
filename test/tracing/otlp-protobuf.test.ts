import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { encodeTraceRequest } from '../../src/tracing/otlp-protobuf.js';

/** Spans of two resources and three scopes, with every attribute shape, events, links and statuses. */
function recordedSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const providers = ['switchyard', 'sidecar ✓'].map(
    (name) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': name, 'host.cores': 2 }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }),
  );
  const [first, second] = providers as [BasicTracerProvider, BasicTracerProvider];
  const tracers = [first.getTracer('switchyard'), first.getTracer('pg', '8.16.0'), second.getTracer('other')];
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=a,other=b'),
  });
  const long = 'SELECT "public"."Message"."id" FROM "public"."Message" WHERE id = $1 '.repeat(60);
  for (const [index, tracer] of tracers.entries()) {
    const parent = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER }, remote);
    const child = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.request.model': 'gpt-4o-mini',
          'db.query.text': long,
          'unicode.text': 'naïve café — 東京 🚀',
          'empty.text': '',
          'int.small': 7,
          'int.big': 2 ** 40 + 3,
          'int.negative': -42,
          'double.value': 0.25,
          'bool.true': true,
          'bool.false': false,
          'list.strings': ['stop', 'length'],
          'list.numbers': [1, 2.5, -3],
          'list.bools': [true, false],
        },
        links: [{ context: parent.spanContext(), attributes: { reason: 'retry' } }],
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('first chunk', { 'gen_ai.response.time_to_first_chunk': 0.0123 });
    child.addEvent('bare');
    if (index === 1) child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 503' });
    else child.setStatus({ code: SpanStatusCode.OK });
    child.end();
    tracer.startSpan('internal', { kind: SpanKind.INTERNAL }).end();
    parent.end();
  }
  return exporter.getFinishedSpans();
}

describe('OTLP protobuf encoder', () => {
  it('writes the same bytes as OpenTelemetry’s serializer for every span shape', () => {
    const spans = recordedSpans();
    expect(spans.length).toBe(9);
    const ours = Buffer.from(encodeTraceRequest(spans));
    const theirs = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array());
    expect(theirs.length).toBeGreaterThan(5_000);
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
  });

  it('writes one span alone and an empty batch the same way too', () => {
    const [span] = recordedSpans();
    for (const batch of [span ? [span] : [], []]) {
      const theirs = Buffer.from(ProtobufTraceSerializer.serializeRequest(batch) ?? new Uint8Array());
      expect(Buffer.from(encodeTraceRequest(batch)).toString('hex')).toBe(theirs.toString('hex'));
    }
  });
});
