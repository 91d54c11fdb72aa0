export { countedDeltas } from './counted-deltas.js';
export { measuredEmbedder } from './measured-embedder.js';
export { createMetrics, type GenerationEnd, type Metrics } from './metrics.js';
export { metricsEndpoint, withHttpMetrics } from './metrics-endpoint.js';
export type { DeltaTransport, OperationMetrics, OperationType, SubscriptionTransport } from './operation-metrics.js';
export { countRefusals, teeRecorder } from './recording.js';
export type { ScrapeSources } from './scrape-gauges.js';
