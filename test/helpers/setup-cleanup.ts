import { afterAll } from 'vitest';
import { stopAll } from './cleanup.js';

// Registered before any suite's own hooks, so it runs after their afterAll: whatever they did
// not stop (a server whose start outlived a timed-out beforeAll) is stopped here.
afterAll(stopAll);
