/**
 * Bucket boundaries the OpenTelemetry GenAI semantic conventions advise for their histograms
 * (`explicit_bucket_boundaries_advisory`), so that dashboards built for the conventions read ours.
 */

/** `gen_ai.client.token.usage`: powers of four, 1 to 4^13 tokens. */
export const TOKEN_USAGE_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** `gen_ai.client.operation.duration`, seconds: doubling from 10 ms. */
export const OPERATION_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** `gen_ai.client.operation.time_to_first_chunk`, seconds. */
export const TIME_TO_FIRST_CHUNK_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/** `gen_ai.client.operation.time_per_output_chunk`, seconds. */
export const TIME_PER_OUTPUT_CHUNK_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
