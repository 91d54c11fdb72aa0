import type { ProviderConfigured } from '../registry.js';
import type { CircuitStateName } from '../router/traffic-recorder.js';
import type { ChatProvider, ModelInfo } from '../types.js';

export type ProviderStatus = 'UP' | 'DEGRADED' | 'DOWN' | 'UNCONFIGURED';
export type OverallStatus = 'ok' | 'degraded' | 'down';
export type { CircuitStateName };

/** One provider's health, shaped like the GraphQL `ProviderHealth` type (plus kind and deployments). */
export interface ProviderHealthSnapshot {
  name: string;
  kind: ChatProvider['kind'];
  configured: ProviderConfigured;
  status: ProviderStatus;
  /** Across the provider's deployments: OPEN when all are open, HALF_OPEN when some are recovering. */
  circuit: CircuitStateName;
  /** Latency of the last successful active probe. */
  latencyMs: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  /** Failed share of upstream calls in the recent window, 0..1. */
  errorRate: number;
  inFlight: number;
  lastCheckedAt: Date | null;
  lastError: string | null;
  models: ModelInfo[];
  deployments: Array<{ id: string; circuit: CircuitStateName }>;
}

/** When passive figures turn a provider DEGRADED. */
export interface HealthThresholds {
  /** Error rate above this (with enough samples) is DEGRADED. */
  maxErrorRate: number;
  /** Fewer calls than this in the window say nothing about error rate or TTFT. */
  minSamples: number;
  /** p95 time to first token above this (with enough samples) is DEGRADED. */
  maxTtftP95Ms: number;
}

export const defaultThresholds: HealthThresholds = { maxErrorRate: 0.25, minSamples: 5, maxTtftP95Ms: 20_000 };
