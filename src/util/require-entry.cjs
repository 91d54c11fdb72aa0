// Starts a worker thread from source (see startWorker in worker-file.ts): requires the `.ts` entry
// named last on the thread's argv through tsx's require hook, which `--import tsx` sets up before
// this file runs; on Node 20 its ESM hooks do not reach worker threads.
require(process.argv[process.argv.length - 1]);
