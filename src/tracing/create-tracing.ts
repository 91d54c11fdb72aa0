import {
  type Context,
  context as contextApi,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { redactForTelemetry } from './content-capture.js';
import { otlpProtobufExporter } from './otlp-protobuf-exporter.js';
import { type TracingSettings, tracingSettings } from './tracing-settings.js';

/**
 * One server's tracing. Off (no OTLP endpoint): `tracer` is undefined and every call site skips
 * its span work, so tracing costs a property read; no provider, no context manager exists.
 *
 * On: a tracer of this server's own provider (never the API's global one: a test process starts
 * many servers), and a context manager of its own (AsyncLocalStorage, not registered globally)
 * that carries the request's span from the HTTP handler into resolvers, services and the
 * router's upstream calls without threading it through every signature.
 */
export interface Tracing {
  readonly tracer: Tracer | undefined;
  /** Whether prompts and replies may go on spans (redacted): the GenAI conventions' opt-in. */
  readonly captureContent: boolean;
  /** The context of the code running now (the request's span inside a request); ROOT_CONTEXT when off. */
  active(): Context;
  /** Runs `fn` with `ctx` active (for its whole async continuation). */
  with<T>(ctx: Context, fn: () => T): T;
  /** `ctx` with `span` as its current span. */
  withSpan(ctx: Context, span: Span): Context;
  /** The context a W3C `traceparent` (and `tracestate`) names; ROOT_CONTEXT if absent, malformed or off. */
  extract(traceparent: string | undefined, tracestate?: string | undefined): Context;
  /** The W3C `traceparent` of `ctx`'s span, to carry to another instance; undefined when none or off. */
  traceparent(ctx?: Context): string | undefined;
  /** The trace id of the span active now (the request's, inside a request), for log lines. */
  currentTraceId(): string | undefined;
  /** Text for a span attribute: personal data and secrets replaced by their kind. */
  redact(text: string): string;
  /**
   * Exports what is buffered and stops (the server's drain path). A collector that never answers
   * would hold the exit for the exporter's own timeouts: after `FLUSH_AT_SHUTDOWN_MS` it rejects,
   * and what was not sent is dropped.
   */
  shutdown(): Promise<void>;
}

/** Tracing off: nothing is built, every method is a constant. */
export const tracingOff: Tracing = {
  tracer: undefined,
  captureContent: false,
  active: () => ROOT_CONTEXT,
  with: (_ctx, fn) => fn(),
  withSpan: (ctx) => ctx,
  extract: () => ROOT_CONTEXT,
  traceparent: () => undefined,
  currentTraceId: () => undefined,
  redact: redactForTelemetry,
  shutdown: async () => {},
};

export interface TracingOptions {
  /** Replaces the OTLP exporter (tests of the wiring without a receiver). */
  exporter?: SpanExporter;
}

/**
 * Builds tracing from the standard `OTEL_*` variables: on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, with a batch processor and the OTLP exporter of
 * `OTEL_EXPORTER_OTLP_PROTOCOL`; off (tracingOff) otherwise. Throws ConfigError on a bad value.
 *
 * @example
 * const tracing = createTracing(process.env);
 * const span = tracing.tracer?.startSpan('work', {}, tracing.active());
 * span?.end();
 * await tracing.shutdown();
 */
export function createTracing(
  env: Readonly<Record<string, string | undefined>>,
  options: TracingOptions = {},
): Tracing {
  const settings = tracingSettings(env);
  return settings ? tracingOn(settings, options) : tracingOff;
}

function tracingOn(settings: TracingSettings, options: TracingOptions): Tracing {
  const exporter =
    options.exporter ??
    (settings.protocol === 'http/json'
      ? new JsonExporter({ url: settings.url, headers: settings.headers })
      : otlpProtobufExporter({ url: settings.url, headers: settings.headers }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: samplerOf(settings),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('switchyard');
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    captureContent: settings.captureContent,
    active: () => contexts.active(),
    with: (ctx, fn) => contexts.with(ctx, fn),
    withSpan: (ctx, span) => trace.setSpan(ctx, span),
    extract(traceparent, tracestate) {
      if (!traceparent) return ROOT_CONTEXT;
      const carrier: Record<string, string> = { traceparent };
      if (tracestate) carrier.tracestate = tracestate;
      return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    },
    traceparent(ctx = contexts.active()) {
      const carrier: Record<string, string> = {};
      propagator.inject(ctx, carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
    currentTraceId() {
      const spanContext = trace.getSpan(contexts.active())?.spanContext();
      return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
    },
    redact: redactForTelemetry,
    shutdown() {
      stopped ??= withDeadline(provider.shutdown(), FLUSH_AT_SHUTDOWN_MS).finally(() => contexts.disable());
      return stopped;
    },
  };
}

/** How long the last export may take when the server stops. */
export const FLUSH_AT_SHUTDOWN_MS = 3_000;

function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`trace export unfinished after ${ms} ms; the rest is dropped`)), ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function samplerOf({ sampler, ratio }: TracingSettings): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** For code that only has @opentelemetry/api at hand (another module's log line): the trace id of `ctx`. */
export function traceIdOf(ctx: Context = contextApi.active()): string | undefined {
  const spanContext = trace.getSpan(ctx)?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
