export { needsOf } from './request-needs.js';
export { fitPrompt } from './resolve-route.js';
export { createRouter, type Router, type RouterOptions } from './router.js';
export type { CallHandle, CircuitStateName, TrafficRecorder, UpstreamOperation } from './traffic-recorder.js';
export type * from './types.js';
