import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql ships both ESM and CJS; Node loads the CJS copy for CommonJS dependencies, so
  // point every import at that one copy (graphql refuses to mix the two).
  resolve: { alias: { graphql: require.resolve('graphql') } },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Generous: on a loaded 2-core machine one server start took 40-60 s (measured). Waits inside
    // tests (eventually) give up sooner, so their message names what did not happen.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One module graph per worker, not per file: each file re-importing the server's ~1,400 modules
    // cost about a third of a file's CPU (measured). Safe because state lives in what createServer
    // builds, not in modules; a test that fakes timers or changes process.env restores them.
    isolate: false,
    // Fails the run when SWITCHYARD_TEST_SERVICES names a service that does not answer; makes the
    // data directory embedded test servers start from (saves each one PGlite's initdb); builds the
    // server that spawned test servers run (saves each process tsx and initdb).
    globalSetup: [
      'test/helpers/require-services.ts',
      'test/helpers/pglite-template.ts',
      'test/helpers/built-server.ts',
    ],
    // Stops servers a test started even when it timed out (test/helpers/cleanup.ts).
    setupFiles: ['test/helpers/setup-cleanup.ts'],
  },
});
