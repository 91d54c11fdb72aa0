export { createMetrics, type GenerationEnd, type Metrics, metricsOff } from './metrics.js';
export { metricsEndpoint, withHttpMetrics } from './metrics-endpoint.js';
export { countRefusals, teeRecorder } from './recording.js';
