import { LRUCache } from 'lru-cache';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  type CallHandle,
  type CircuitStateName,
  noopRecorder,
  type TrafficRecorder,
  type UpstreamOperation,
} from '../providers/router/traffic-recorder.js';
import {
  OPERATION_DURATION_BUCKETS,
  TIME_PER_OUTPUT_CHUNK_BUCKETS,
  TIME_TO_FIRST_CHUNK_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from './genai-buckets.js';
import type { RouteLabel } from './http-route.js';
import { createOperationMetrics, type OperationMetrics } from './operation-metrics.js';
import { registerScrapeGauges, type ScrapeSources } from './scrape-gauges.js';

/** What a generation reports once, at its end (the chat runner and the REST completion service). */
export interface GenerationEnd {
  /** `gen_ai.operation.name`: chat unless said otherwise. */
  operation?: 'chat' | 'embeddings';
  /** The provider (by its configured name) that answered; null when none did. */
  provider: string | null;
  /** The model the deployment was asked for; labelled `other` unless the router knows it. */
  model: string | null;
  /** Tokens as charged (the same figures as the stored usage); null when nothing was charged. */
  usage: { promptTokens: number; completionTokens: number } | null;
  /** What it cost, in billionths of a dollar; null when the price is unknown. */
  costNanos: number | null;
  /** From arrival at the gateway to the end, milliseconds. */
  durationMs: number;
  /** From routing to the first upstream chunk (retries and fallbacks included), milliseconds. */
  ttftMs: number | null;
  /** Text deltas received from upstream. */
  chunks: number;
  /** The error code it ended with (`UPSTREAM_ERROR`, `CANCELLED`, ...); null on success. */
  errorCode: string | null;
}

export interface Metrics {
  /** This server's own registry (never prom-client's global one: tests run many servers per process); process metrics are merged in at render. */
  readonly registry: Registry;
  /** Prometheus text exposition of everything recorded. */
  render(): Promise<string>;
  readonly contentType: string;
  /** One call per generation: token usage, duration, time to first chunk, time per chunk, cost. */
  generationEnded(end: GenerationEnd): void;
  /** The router's per-call outcomes and breaker states, per deployment. */
  readonly recorder: TrafficRecorder;
  /** A request refused by a rate limit or a budget (`limit` is the limit's name). */
  refused(code: string, limit: string): void;
  /** One HTTP request answered. */
  httpRequest(route: RouteLabel, status: number): void;
  /** Which models may appear as labels; until set, every model is `other`. */
  setModelCatalog(isKnown: (provider: string, model: string) => boolean): void;
  /** GraphQL operations, subscriptions, deltas sent, open WebSockets. */
  readonly operations: OperationMetrics;
  /** Adds figures read at scrape time (open streams, provider status, indexing, database pool). */
  observe(sources: ScrapeSources): void;
  /** Chunks written with their vectors by the indexer. */
  chunksIndexed(count: number): void;
  /**
   * The configured embedder's calls (indexing, search, memory): duration, and the error code on a
   * failure. Its model is the operator's (EMBEDDING_MODEL), so it is a label as it is.
   */
  embedded(provider: string, model: string, durationMs: number, errorCode: string | null): void;
}

interface GenerationSeries {
  duration: Histogram.Internal<string>;
  firstChunk: Histogram.Internal<string>;
  perChunk: Histogram.Internal<string>;
  input: Histogram.Internal<string>;
  output: Histogram.Internal<string>;
  cost: Counter.Internal;
}

let processMetrics: Registry | undefined;

/**
 * Node's process figures, collected once per process into a registry of their own (not
 * prom-client's global one) and merged into each server's scrape: they describe the process, and
 * each collection adds a GC observer and an event-loop monitor that are never removed, so a
 * process that starts many servers (tests) must not collect them per server.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

const OTHER = 'other';
/** The router only knows a few dozen models; a larger cache would mean a catalog lookup per call anyway. */
const KNOWN_CACHE = { max: 2_000, ttl: 60_000 };
const STATES: CircuitStateName[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

/**
 * Builds the metrics of one server: Node process metrics and the gateway's own, in a registry of
 * its own. GenAI figures use the OpenTelemetry GenAI semantic conventions' names (dots become
 * underscores) and advised buckets. Labels stay bounded: models the router does not know are
 * `other`, deployments of such models `<provider>/other`; no user, key or request ids.
 *
 * @example
 * const metrics = createMetrics();
 * metrics.generationEnded({ provider: 'openai', model: 'gpt-4o-mini', usage, costNanos, durationMs, ttftMs, chunks, errorCode: null });
 * response.end(await metrics.render());
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const withProcess = options.processMetrics ?? true;
  if (withProcess) processRegistry();
  const registers = [registry];
  const genAiLabels = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;

  const tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per generation, as charged (gen_ai.client.token.usage)',
    labelNames: [...genAiLabels, 'gen_ai_token_type'],
    buckets: TOKEN_USAGE_BUCKETS,
    registers,
  });
  const duration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Generation duration from arrival to end (gen_ai.client.operation.duration)',
    labelNames: [...genAiLabels, 'error_type'],
    buckets: OPERATION_DURATION_BUCKETS,
    registers,
  });
  const firstChunk = new Histogram({
    name: 'gen_ai_client_operation_time_to_first_chunk_seconds',
    help: 'Time from routing to the first upstream chunk, retries and fallbacks included (gen_ai.client.operation.time_to_first_chunk)',
    labelNames: genAiLabels,
    buckets: TIME_TO_FIRST_CHUNK_BUCKETS,
    registers,
  });
  const perChunk = new Histogram({
    name: 'gen_ai_client_operation_time_per_output_chunk_seconds',
    help: 'Mean time between output chunks after the first, one observation per generation (gen_ai.client.operation.time_per_output_chunk)',
    labelNames: genAiLabels,
    buckets: TIME_PER_OUTPUT_CHUNK_BUCKETS,
    registers,
  });
  const cost = new Counter({
    name: 'switchyard_cost_usd_total',
    help: 'What generations cost, in US dollars, at the configured prices',
    labelNames: ['gen_ai_provider_name', 'gen_ai_request_model'],
    registers,
  });
  const http = new Counter({
    name: 'switchyard_http_requests_total',
    help: 'HTTP requests answered, by route (a fixed set) and status',
    labelNames: ['route', 'status'],
    registers,
  });
  const calls = new Counter({
    name: 'switchyard_upstream_calls_total',
    help: 'Upstream calls per deployment and operation (chat, embeddings) by outcome: a retryable_error is followed by a retry of the deployment while its retries last, then by a fallback; an error by a fallback',
    labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'deployment', 'outcome'],
    registers,
  });
  const breaker = new Gauge({
    name: 'switchyard_circuit_breaker_state',
    help: 'Circuit breaker state per deployment: 1 for the current state (CLOSED, OPEN, HALF_OPEN), 0 for the others',
    labelNames: ['gen_ai_provider_name', 'deployment', 'state'],
    registers,
  });
  const retries = new Counter({
    name: 'switchyard_upstream_retries_total',
    help: 'Upstream calls retried on the same deployment (a chat before its first token), per deployment and operation (chat, embeddings)',
    labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'deployment'],
    registers,
  });
  const fallbacks = new Counter({
    name: 'switchyard_upstream_fallbacks_total',
    help: 'Requests that left a deployment for the next one in their route (a chat before its first token), per deployment left and operation (chat, embeddings)',
    labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'deployment'],
    registers,
  });
  const chunks = new Counter({
    name: 'switchyard_indexing_chunks_total',
    help: 'Document chunks indexed (embedded and written) by this instance',
    registers,
  });
  const refusals = new Counter({
    name: 'switchyard_limit_refusals_total',
    help: 'Requests refused by a rate limit or budget, by error code and limit name',
    labelNames: ['code', 'limit'],
    registers,
  });

  const operations = createOperationMetrics(registry);
  const sources: ScrapeSources = {};
  registerScrapeGauges(registry, sources);

  let isKnown: (provider: string, model: string) => boolean = () => false;
  const known = new LRUCache<string, boolean>(KNOWN_CACHE);
  const modelLabel = (provider: string | null, model: string | null): string => {
    if (provider === null || model === null) return OTHER;
    const key = `${provider}\u0000${model}`;
    let hit = known.get(key);
    if (hit === undefined) {
      hit = isKnown(provider, model);
      known.set(key, hit);
    }
    return hit ? model : OTHER;
  };
  /** Deployment ids are `<provider>/<model>`: the model part follows the model label's rule. */
  const deploymentLabel = (provider: string, deploymentId: string): string => {
    const model = deploymentId.startsWith(`${provider}/`) ? deploymentId.slice(provider.length + 1) : null;
    return `${provider}/${modelLabel(provider, model)}`;
  };

  /**
   * The series of one provider, model label and error code, looked up by one string key: prom-client
   * hashes a label object on every observe, which costs more than the observations themselves.
   * Bounded like the labels (configured providers, known models, error codes).
   */
  const series = new Map<string, GenerationSeries>();
  const seriesOf = (
    operation: string,
    provider: string | null,
    model: string,
    errorType: string | null,
  ): GenerationSeries => {
    const key = `${operation}\u0000${provider ?? ''}\u0000${model}\u0000${errorType ?? ''}`;
    let found = series.get(key);
    if (!found) {
      const labels = {
        gen_ai_operation_name: operation,
        gen_ai_provider_name: provider ?? OTHER,
        gen_ai_request_model: model,
      };
      found = {
        duration: duration.labels(errorType ? { ...labels, error_type: errorType } : labels),
        firstChunk: firstChunk.labels(labels),
        perChunk: perChunk.labels(labels),
        input: tokenUsage.labels({ ...labels, gen_ai_token_type: 'input' }),
        output: tokenUsage.labels({ ...labels, gen_ai_token_type: 'output' }),
        cost: cost.labels({ gen_ai_provider_name: labels.gen_ai_provider_name, gen_ai_request_model: model }),
      };
      series.set(key, found);
    }
    return found;
  };

  type OperationSeries = {
    call: Record<'success' | 'retryable' | 'error' | 'abandoned', Counter.Internal>;
    retry: Counter.Internal;
    fallback: Counter.Internal;
  };
  /** Per provider and deployment id; bounded by the LRU below, since deployment ids carry callers' model names. */
  const callSeries = new LRUCache<string, Record<UpstreamOperation, OperationSeries>>(KNOWN_CACHE);
  const outcomesOf = (provider: string, deploymentId: string) => {
    const key = `${provider}\u0000${deploymentId}`;
    let outcomes = callSeries.get(key);
    if (!outcomes) {
      const deployment = deploymentLabel(provider, deploymentId);
      const of = (operation: UpstreamOperation): OperationSeries => {
        const labels = { gen_ai_operation_name: operation, gen_ai_provider_name: provider, deployment };
        return {
          call: {
            success: calls.labels({ ...labels, outcome: 'success' }),
            retryable: calls.labels({ ...labels, outcome: 'retryable_error' }),
            error: calls.labels({ ...labels, outcome: 'error' }),
            abandoned: calls.labels({ ...labels, outcome: 'abandoned' }),
          },
          retry: retries.labels(labels),
          fallback: fallbacks.labels(labels),
        };
      };
      outcomes = { chat: of('chat'), embeddings: of('embeddings') };
      callSeries.set(key, outcomes);
    }
    return outcomes;
  };
  const recorder: TrafficRecorder = {
    callStarted(provider, deploymentId, operation): CallHandle {
      const counted = outcomesOf(provider, deploymentId)[operation].call;
      return {
        firstToken() {},
        succeeded: () => counted.success.inc(),
        failed: (error) => (error.retryable ? counted.retryable : counted.error).inc(),
        abandoned: () => counted.abandoned.inc(),
      };
    },
    retried: (provider, deploymentId, operation) => outcomesOf(provider, deploymentId)[operation].retry.inc(),
    fellBack: (provider, deploymentId, operation) => outcomesOf(provider, deploymentId)[operation].fallback.inc(),
    circuitChanged(provider, deploymentId, state) {
      const deployment = deploymentLabel(provider, deploymentId);
      for (const name of STATES) {
        breaker.set({ gen_ai_provider_name: provider, deployment, state: name }, name === state ? 1 : 0);
      }
    },
  };

  return {
    registry,
    contentType: registry.contentType,
    render: () => (withProcess ? Registry.merge([processRegistry(), registry]) : registry).metrics(),
    recorder,
    generationEnded(end) {
      const operation = end.operation ?? 'chat';
      const series = seriesOf(operation, end.provider, modelLabel(end.provider, end.model), end.errorCode);
      series.duration.observe(end.durationMs / 1000);
      if (end.ttftMs !== null) series.firstChunk.observe(end.ttftMs / 1000);
      if (end.ttftMs !== null && end.chunks > 1) {
        // One observation per generation (the mean gap), not one per chunk: no timing on the token path.
        series.perChunk.observe(Math.max(0, end.durationMs - end.ttftMs) / 1000 / (end.chunks - 1));
      }
      if (end.usage) {
        series.input.observe(end.usage.promptTokens);
        series.output.observe(end.usage.completionTokens);
      }
      if (end.costNanos) series.cost.inc(end.costNanos / 1e9);
    },
    refused(code, limit) {
      refusals.inc({ code, limit });
    },
    httpRequest(route, status) {
      http.inc({ route, status: String(status) });
    },
    operations,
    observe(more) {
      Object.assign(sources, more);
    },
    chunksIndexed(count) {
      chunks.inc(count);
    },
    embedded(provider, model, durationMs, errorCode) {
      seriesOf('embeddings', provider, model, errorCode).duration.observe(durationMs / 1000);
    },
    setModelCatalog(fn) {
      isKnown = fn;
      known.clear();
      series.clear();
      callSeries.clear();
    },
  };
}

/** METRICS=off: the same interface, recording nothing; its registry stays empty. */
export function metricsOff(): Metrics {
  const registry = new Registry();
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    recorder: noopRecorder,
    generationEnded() {},
    refused() {},
    httpRequest() {},
    setModelCatalog() {},
    operations: {
      nameLabel: () => 'anonymous',
      operationEnded() {},
      requestRefused() {},
      subscriptionStarted() {},
      subscriptionEnded() {},
      deltaSent() {},
      socketOpened() {},
      socketClosed() {},
    },
    observe() {},
    chunksIndexed() {},
    embedded() {},
  };
}
