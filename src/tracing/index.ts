export { redactForTelemetry } from './content-capture.js';
export { createTracing, type Tracing, traceIdOf, tracingOff } from './create-tracing.js';
export { markSpanFailed } from './span-error.js';
export { type TracingSettings, tracingSettings } from './tracing-settings.js';
