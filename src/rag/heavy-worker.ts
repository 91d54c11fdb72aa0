// Entry of a heavy-work thread (see heavy-work.ts): pdf.js, the chunker and the local embedder
// run here, off the server's event loop.
import { setPriority } from 'node:os';
import { move } from 'piscina';
import { createLocalEmbedder } from '../embeddings/local-embedder.js';
import type { Embedder } from '../embeddings/types.js';
import { AppError } from '../errors.js';
import { createTokenCounter } from '../util/count-tokens.js';
import { chunkDocument } from './chunking/index.js';
import { extractText } from './extract/extract-text.js';
import type { HeavyResult, HeavyResults, HeavyTask } from './heavy-tasks.js';

// Background work: when this thread and the event loop both want a core, the event loop gets it.
// (On Linux a nice value belongs to a thread, so this lowers this thread alone.)
try {
  setPriority(10);
} catch {
  // not permitted here: run at the process's priority
}

// This thread's own: words that recur across the documents it chunks are tokenized once.
const tokenCounter = createTokenCounter();
const embedders = new Map<number, Embedder>();

export default async function run(task: HeavyTask): Promise<HeavyResult> {
  switch (task.kind) {
    case 'extract':
      return extract(task);
    case 'chunk':
      return chunkDocument(task.content, { mimeType: task.mimeType, tokenCounter });
    case 'embed':
      return embed(task.texts, task.dimensions);
  }
}

async function extract(task: Extract<HeavyTask, { kind: 'extract' }>): Promise<HeavyResults['extract']> {
  try {
    return { ok: true, value: await extractText(task.bytes, task.mimeType, task.limits) };
  } catch (error) {
    if (AppError.isInstance(error)) return { ok: false, message: error.message, details: error.details };
    throw error;
  }
}

async function embed(texts: string[], dimensions: number): Promise<Float32Array> {
  let embedder = embedders.get(dimensions);
  if (!embedder) {
    embedder = createLocalEmbedder({ dimensions });
    embedders.set(dimensions, embedder);
  }
  const vectors = await embedder.embed(texts);
  const flat = new Float32Array(texts.length * dimensions);
  vectors.forEach((vector, i) => {
    flat.set(vector, i * dimensions);
  });
  return move(flat) as Float32Array;
}
