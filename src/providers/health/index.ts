export {
  createHealthMonitor,
  type HealthListener,
  type HealthMonitor,
  type HealthMonitorOptions,
  type HealthTimers,
} from './health-monitor.js';
export { aggregateCircuit, overallStatus, providerStatus, type StatusInputs } from './status-rules.js';
export {
  type CircuitStateName,
  defaultThresholds,
  type HealthThresholds,
  type OverallStatus,
  type ProviderHealthSnapshot,
  type ProviderStatus,
} from './types.js';
