export { classifyError, type FailureClass } from './classify-error.js';
export {
  type AliasConfig,
  aliasConfigSchema,
  deploymentConfigSchema,
  type ResilienceConfig,
  type RouterConfig,
  type RouterConfigInput,
  resilienceConfigSchema,
  routerConfigSchema,
  type StrategyName,
  strategyNameSchema,
} from './config-schema.js';
export { fitPrompt } from './route-plan.js';
export { createRouter, FALLBACK_CONTEXT_WINDOW, type Router, type RouterOptions } from './router.js';
export { createSeededRandom } from './seeded-random.js';
export type { CallHandle, CircuitStateName, TrafficRecorder } from './traffic-recorder.js';
export type * from './types.js';
