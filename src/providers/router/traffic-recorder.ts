import type { ProviderError } from '../provider-error.js';

export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** How one upstream call went; exactly one of the settling calls is made, once. */
export interface CallHandle {
  firstToken(ttftMs: number): void;
  succeeded(): void;
  /** The provider failed (counts against its error rate). */
  failed(error: ProviderError): void;
  /** No verdict on the provider: the caller cancelled, or upstream rejected the request as invalid. */
  abandoned(): void;
}

/**
 * What the router reports about real traffic. The health monitor implements it; the router only
 * knows this interface, so it can run without health (tests, scripts).
 */
export interface TrafficRecorder {
  /** One upstream call: a chat up to its end, or one embedding request. */
  callStarted(provider: string, deploymentId: string, operation: UpstreamOperation): CallHandle;
  circuitChanged(provider: string, deploymentId: string, state: CircuitStateName): void;
  /** The deployment is tried again for the same request (a chat's retry is before the first token). */
  retried?(provider: string, deploymentId: string, operation: UpstreamOperation): void;
  /** The request leaves this deployment for the next one in its route (a fallback). */
  fellBack?(provider: string, deploymentId: string, operation: UpstreamOperation): void;
}

/** What a routed request asks of its deployments (`gen_ai.operation.name`). */
export type UpstreamOperation = 'chat' | 'embeddings';

const noopHandle: CallHandle = { firstToken() {}, succeeded() {}, failed() {}, abandoned() {} };

/** For a router without health (tests, scripts). */
export const noopRecorder: TrafficRecorder = { callStarted: () => noopHandle, circuitChanged() {} };
