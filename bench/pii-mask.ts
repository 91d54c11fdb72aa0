// Personal data in a 2,000-token prompt (issue #18): what `mask` adds to a request (a turn's
// session masking the prompt on its way out, and restoring a streamed reply), beside `block`'s
// scan and the logs' redaction, and `off` (nothing). In-process, on the request path's own
// functions; repeated runs, the medians of their p50 and p99.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectPii } from '../src/privacy/pii-detector.js';
import { createPiiSession } from '../src/privacy/pii-session.js';
import { redactForTelemetry } from '../src/privacy/redact.js';
import type { RoutedStreamPart } from '../src/providers/router/types.js';
import type { ChatMessage } from '../src/providers/types.js';
import { countTokens } from '../src/util/count-tokens.js';
import { median, summarise } from './stats.js';

export interface PiiMaskSettings {
  runs: number;
  iterations: number;
  promptTokens: number;
}

export function piiMaskSettingsFromEnv(env = process.env): PiiMaskSettings {
  return {
    runs: Number(env.PII_BENCH_RUNS ?? 7),
    iterations: Number(env.PII_BENCH_ITERATIONS ?? 1_000),
    promptTokens: Number(env.PII_BENCH_TOKENS ?? 2_000),
  };
}

const VALUES = [
  'jane.doe@example.com',
  '+44 20 7946 0958',
  '4111 1111 1111 1111',
  'GB82 WEST 1234 5698 7654 32',
  '10.20.30.40',
  'bob@example.org',
];

/** Ordinary text (the detector's no-false-positive corpus, repeated) with the values spread through it. */
function promptOf(tokens: number): { messages: ChatMessage[]; tokens: number } {
  const corpus = readFileSync(join(import.meta.dirname, '../test/fixtures/pii/ordinary-corpus.txt'), 'utf8');
  const lines = corpus.split('\n').filter((line) => line.trim() !== '');
  // Line by line, a value every eighth line, until the prompt holds `tokens` tokens.
  let text = '';
  for (let i = 0; ; i++) {
    const line =
      i % 8 === 7 ? `Contact ${VALUES[(i >> 3) % VALUES.length]} about it.` : (lines[i % lines.length] as string);
    const next = text === '' ? line : `${text}\n${line}`;
    if (countTokens(next) > tokens) break;
    text = next;
  }
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a helpful assistant for the support team.' },
    { role: 'user', content: text },
  ];
  return { messages, tokens: countTokens(text) };
}

/** A reply that cites the placeholders, streamed in 4-character deltas (a placeholder split in most). */
function replyParts(): RoutedStreamPart[] {
  const reply = 'I wrote to [EMAIL_1] and [EMAIL_2], called [PHONE_1] and checked [CARD_1]. '.repeat(8);
  const parts: RoutedStreamPart[] = [];
  for (let i = 0; i < reply.length; i += 4) parts.push({ type: 'text-delta', text: reply.slice(i, i + 4) });
  parts.push({
    type: 'finish',
    usage: { promptTokens: 1, completionTokens: 1 },
    finishReason: { unified: 'stop', raw: 'stop' },
  });
  return parts;
}

export interface PiiMaskRow {
  path: string;
  /** Medians over the runs of each run's p50 and p99, in ms. */
  p50Ms: number;
  p99Ms: number;
}

export async function benchPiiMask(settings: PiiMaskSettings) {
  const { messages, tokens } = promptOf(settings.promptTokens);
  const reply = replyParts();
  const upstream = async function* (_request: { messages: ChatMessage[] }) {
    yield* reply;
  };
  const noReply = async function* (_request: { messages: ChatMessage[] }) {};
  const drain = async (parts: AsyncIterable<RoutedStreamPart>) => {
    for await (const _ of parts);
  };
  const paths: { path: string; task: () => Promise<unknown> | unknown }[] = [
    { path: 'off (the stream as it is)', task: () => drain(createPiiSession('off').wrap(noReply)({ messages })) },
    {
      path: 'block: scan the prompt',
      task: () => {
        try {
          createPiiSession('block').check(messages);
        } catch {}
      },
    },
    { path: 'mask: mask the prompt', task: () => drain(createPiiSession('mask').wrap(noReply)({ messages })) },
    {
      path: 'mask: prompt + 600-char reply restored',
      task: () => drain(createPiiSession('mask').wrap(upstream)({ messages })),
    },
    { path: 'logs: redact the prompt for a span', task: () => redactForTelemetry(messages[1]?.content ?? '') },
  ];
  const rows: PiiMaskRow[] = [];
  for (const { path, task } of paths) {
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let run = 0; run < settings.runs; run++) {
      const samples: number[] = [];
      for (let i = 0; i < settings.iterations; i++) {
        const started = performance.now();
        await task();
        samples.push(performance.now() - started);
      }
      const summary = summarise(samples);
      p50s.push(summary.p50);
      p99s.push(summary.p99);
    }
    rows.push({ path, p50Ms: median(p50s), p99Ms: median(p99s) });
  }
  const mask = rows.find((row) => row.path === 'mask: mask the prompt') as PiiMaskRow;
  const targets = [
    {
      target: 'mask a 2,000-token prompt, p50 <= 0.5 ms',
      value: `${mask.p50Ms.toFixed(3)} ms`,
      met: mask.p50Ms <= 0.5,
    },
  ];
  const found = detectPii(messages[1]?.content ?? '').map((match) => match.kind);
  return {
    settings,
    promptTokens: tokens,
    valuesInPrompt: found.length,
    kindsInPrompt: [...new Set(found)].sort(),
    rows,
    targets,
  };
}

export function piiMaskTable(result: Awaited<ReturnType<typeof benchPiiMask>>): string[] {
  const lines = [
    `${result.valuesInPrompt} values (${result.kindsInPrompt.join(', ')}) in a ${result.promptTokens}-token prompt, ${result.settings.runs} runs of ${result.settings.iterations}`,
  ];
  lines.push(`${'path'.padEnd(42)}   p50 ms   p99 ms`);
  for (const row of result.rows) {
    lines.push(`${row.path.padEnd(42)} ${row.p50Ms.toFixed(3).padStart(8)} ${row.p99Ms.toFixed(3).padStart(8)}`);
  }
  return lines;
}
