// `/health/live` latency of a real server process (`node --import tsx src/main.ts`, embedded
// default, fresh DATA_DIR) while it sits idle, while it indexes a 5 MB Markdown document, and while
// it refuses PDF bombs, side by side in one run. Repeated runs; the medians of their p50 and p99.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigMarkdown } from '../test/fixtures/big-markdown.js';
import { inflationBombPdf } from '../test/fixtures/pdf-bombs.js';
import { type Child, startChild } from './peers/children.js';
import { type LatencySummary, median, summarise } from './stats.js';

export interface HealthLiveSettings {
  runs: number;
  /** How long the idle baseline is probed. */
  idleMs: number;
  /** Probing under indexing stops when the document is READY or after this long (then it is deleted). */
  indexingMs: number;
  /** PDF bombs uploaded one after another in the bomb phase. */
  bombs: number;
  /** What each bomb's page stream inflates to. */
  bombInflatedBytes: number;
  /** Pause between probes (one probe in flight at a time). */
  probeEveryMs: number;
}

export function healthLiveSettingsFromEnv(env = process.env): HealthLiveSettings {
  const number = (name: string, fallback: number) => Number(env[name] ?? fallback);
  return {
    runs: number('HEALTH_BENCH_RUNS', 3),
    idleMs: number('HEALTH_BENCH_IDLE_MS', 10_000),
    indexingMs: number('HEALTH_BENCH_INDEXING_MS', 60_000),
    bombs: number('HEALTH_BENCH_BOMBS', 5),
    bombInflatedBytes: number('HEALTH_BENCH_BOMB_BYTES', 400 * 1024 * 1024),
    probeEveryMs: number('HEALTH_BENCH_PROBE_EVERY_MS', 20),
  };
}

type Phase = 'idle' | 'indexing 5 MB Markdown' | 'refusing PDF bombs';

export interface PhaseRun extends LatencySummary {
  max: number;
  /** The server's resident memory when the phase ended (worker threads included), MiB. */
  rssMiB: number;
  /** What the server did meanwhile (chunks written, document READY, bombs refused with which code). */
  note: string;
}

export interface HealthLiveResult {
  settings: HealthLiveSettings;
  bombFileBytes: number;
  markdownBytes: number;
  phases: { phase: Phase; runs: PhaseRun[]; medianP50: number; medianP99: number; maxMs: number }[];
  target: { target: string; met: boolean };
}

const UPLOAD = 'mutation ($file: File!) { uploadDocument(file: $file) { id status } }';
const STATUS = 'query ($id: ID!) { document(id: $id) { status chunkCount } }';

export async function benchHealthLive(
  settings: HealthLiveSettings,
  log: (line: string) => void = () => {},
): Promise<HealthLiveResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-health-bench-'));
  const server = startChild({
    script: 'src/main.ts',
    tsx: true,
    readyPattern: /running at (\S+)/,
    readyTimeoutMs: 300_000,
    env: { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  });
  const bomb = inflationBombPdf(settings.bombInflatedBytes);
  const markdownBytes = 5_000_000;
  try {
    const url = await server.ready;
    const origin = new URL(url).origin;
    const gql = graphql(url);
    const byPhase = new Map<Phase, PhaseRun[]>();
    const add = async (phase: Phase, probed: Omit<PhaseRun, 'rssMiB'>) => {
      const run = { ...probed, rssMiB: Math.round((await server.memory()).rss / 2 ** 20) };
      byPhase.set(phase, [...(byPhase.get(phase) ?? []), run]);
      log(
        `${phase}: p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, max ${run.max.toFixed(1)} ms, RSS ${run.rssMiB} MiB (${run.note})`,
      );
    };
    for (let run = 1; run <= settings.runs; run++) {
      log(`run ${run} of ${settings.runs}`);
      await add(
        'idle',
        await probeWhile(
          origin,
          settings,
          sleep(settings.idleMs).then(() => 'nothing'),
        ),
      );

      // A new document each run (the same text would be found and returned as it is).
      const markdown = bigMarkdown(markdownBytes, run);
      const uploaded = await gql.upload(new File([markdown], `manual-${run}.md`));
      const id = uploaded.data?.uploadDocument?.id as string;
      if (!id) throw new Error(`upload failed: ${JSON.stringify(uploaded.errors)}`);
      const indexed = (async () => {
        const deadline = performance.now() + settings.indexingMs;
        for (;;) {
          const document = (await gql.query(STATUS, { id })).data?.document ?? { status: 'GONE', chunkCount: 0 };
          if (document.status !== 'PENDING' && document.status !== 'INDEXING')
            return `${document.status} with ${document.chunkCount} chunks`;
          if (performance.now() > deadline)
            return `still INDEXING after ${settings.indexingMs} ms, ${document.chunkCount} chunks written`;
          await sleep(500);
        }
      })();
      await add('indexing 5 MB Markdown', await probeWhile(origin, settings, indexed));
      await gql.query('mutation ($id: ID!) { deleteDocument(id: $id) }', { id });

      const refusals = (async () => {
        const codes: Record<string, number> = {};
        for (let i = 0; i < settings.bombs; i++) {
          const reply = await gql.upload(new File([new Uint8Array(bomb)], 'bomb.pdf', { type: 'application/pdf' }));
          const code = String(reply.errors?.[0]?.extensions?.code ?? (reply.data ? 'ACCEPTED' : 'NONE'));
          codes[code] = (codes[code] ?? 0) + 1;
        }
        return `${settings.bombs} bombs: ${Object.entries(codes)
          .map(([code, n]) => `${n} ${code}`)
          .join(', ')}`;
      })();
      await add('refusing PDF bombs', await probeWhile(origin, settings, refusals));
    }
    const phases = [...byPhase].map(([phase, runs]) => ({
      phase,
      runs,
      medianP50: median(runs.map((r) => r.p50)),
      medianP99: median(runs.map((r) => r.p99)),
      maxMs: Math.max(...runs.map((r) => r.max)),
    }));
    const worstP99 = Math.max(...phases.filter((p) => p.phase !== 'idle').map((p) => p.medianP99));
    return {
      settings,
      bombFileBytes: bomb.length,
      markdownBytes,
      phases,
      target: { target: '/health/live p99 <= 50 ms under indexing and bombs', met: worstP99 <= 50 },
    };
  } finally {
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printHealthLive(result: HealthLiveResult) {
  console.log(
    `/health/live under heavy work: median of ${result.settings.runs} runs (server: node --import tsx, PGlite)`,
  );
  console.log('phase                        p50 ms   p99 ms   max ms  samples/run  RSS MiB');
  for (const p of result.phases) {
    const samples = Math.round(median(p.runs.map((r) => r.n)));
    console.log(
      `${p.phase.padEnd(26)} ${p.medianP50.toFixed(1).padStart(8)} ${p.medianP99.toFixed(1).padStart(8)} ${p.maxMs.toFixed(1).padStart(8)} ${String(samples).padStart(12)} ${String(Math.max(...p.runs.map((r) => r.rssMiB))).padStart(8)}`,
    );
  }
  console.log(`${result.target.met ? 'met   ' : 'MISSED'} ${result.target.target}`);
}

/** Probes `/health/live` one request at a time, `probeEveryMs` apart, until `work` settles. */
async function probeWhile(
  origin: string,
  settings: HealthLiveSettings,
  work: Promise<string>,
): Promise<Omit<PhaseRun, 'rssMiB'>> {
  let done = false;
  let note = '';
  const finished = work.then(
    (value) => {
      note = value;
      done = true;
    },
    (error: Error) => {
      note = `failed: ${error.message}`;
      done = true;
    },
  );
  const samples: number[] = [];
  while (!done) {
    const started = performance.now();
    const response = await fetch(`${origin}/health/live`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`/health/live answered ${response.status}`);
    samples.push(performance.now() - started);
    await sleep(settings.probeEveryMs);
  }
  await finished;
  return { ...summarise(samples), max: Math.max(...samples), note };
}

function graphql(url: string) {
  type Reply = {
    data?: { uploadDocument?: { id: string }; document?: { status: string; chunkCount: number } } | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  return {
    async query(query: string, variables: Record<string, unknown>): Promise<Reply> {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as Reply;
    },
    async upload(file: File): Promise<Reply> {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.file'] }));
      form.append('0', file, file.name);
      const response = await fetch(url, {
        method: 'POST',
        body: form,
        headers: { accept: 'application/json', 'graphql-require-preflight': '1' },
      });
      return (await response.json()) as Reply;
    },
  };
}

async function stop(server: Child) {
  // Shutdown waits for PGlite to write out its data; give it time before SIGKILL.
  await server.stop(30_000);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
