export { classifyError, type FailureClass } from './resilience.js';
export { fitPrompt } from './resolve-route.js';
export { createRouter, FALLBACK_CONTEXT_WINDOW, type Router, type RouterOptions } from './router.js';
export type { CallHandle, CircuitStateName, TrafficRecorder } from './traffic-recorder.js';
export type * from './types.js';
