import { availableParallelism } from 'node:os';
import { AppError, badInput } from '../errors.js';
import { workerFile } from '../util/worker-file.js';
import { createWorkerPool, PoolBusy, type PoolStats, WorkerTimeout } from '../workers/worker-pool.js';
import type { Chunk, ChunkMimeType } from './chunking/index.js';
import { MAX_DOCUMENT_BYTES } from './document-service.js';
import type { PdfLimits } from './extract/extract-pdf-text.js';
import type { TextExtractor } from './extract/extract-upload.js';
import type { HeavyResult, HeavyResults, HeavyTask } from './heavy-tasks.js';

export interface HeavyWorkOptions {
  /** Threads for indexing (chunking, embedding); default one less than the cores, 1 to 2. */
  indexingThreads?: number;
  /** A PDF with more pages is refused. Default 2,000. */
  maxPages?: number;
  /** A PDF whose FlateDecode streams inflate to more is refused. Default 200 MiB. */
  maxInflatedBytes?: number;
  /** Reading one upload. Default 20 s. */
  extractTimeoutMs?: number;
  /** Chunking one document, or embedding one batch. Default 120 s. */
  indexTimeoutMs?: number;
}

export interface HeavyWork {
  /** An upload's text (see TextExtractor); refusals, time-outs included, are BAD_USER_INPUT. */
  extractText: TextExtractor;
  chunk(content: string, mimeType: ChunkMimeType, signal?: AbortSignal): Promise<Chunk[]>;
  /** The local embedder's vectors, computed off the event loop. */
  embed(texts: string[], dimensions: number, signal?: AbortSignal): Promise<number[][]>;
  /** Both pools, and how many documents are being chunked on a thread right now. */
  stats(): { extraction: PoolStats; indexing: PoolStats; chunking: number };
  close(): Promise<void>;
}

/** Heap a heavy thread may grow to: pdf.js on a 5 MB file, or chunking a 5 MB document, fit well within. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 768, maxYoungGenerationSizeMb: 64 };

/**
 * The work that would stall the event loop, on worker threads: reading uploads (pdf.js, UTF-8
 * checks), chunking, local embedding. Two pools, so an upload a client waits on never queues
 * behind background indexing: one thread reads uploads (a few may wait their turn, more are
 * refused), and indexing gets the rest of the cores. A task past its time, or whose signal
 * aborts (the document was deleted, the job superseded), has its thread terminated.
 */
export function createHeavyWork(options: HeavyWorkOptions = {}): HeavyWork {
  const file = workerFile(import.meta.url, 'heavy-worker');
  const limits: PdfLimits = {
    maxPages: options.maxPages ?? 2_000,
    maxInflatedBytes: options.maxInflatedBytes ?? 200 * 1024 * 1024,
    maxTextBytes: MAX_DOCUMENT_BYTES,
  };
  const extraction = createWorkerPool<HeavyTask, HeavyResult>({
    name: 'upload-reading',
    file,
    threads: 1,
    maxWaiting: 8,
    timeoutMs: options.extractTimeoutMs ?? 20_000,
    resourceLimits: RESOURCE_LIMITS,
  });
  const indexing = createWorkerPool<HeavyTask, HeavyResult>({
    name: 'indexing',
    file,
    threads: options.indexingThreads ?? Math.min(2, Math.max(1, availableParallelism() - 1)),
    timeoutMs: options.indexTimeoutMs ?? 120_000,
    resourceLimits: RESOURCE_LIMITS,
  });

  let chunking = 0;

  return {
    async extractText(bytes, mimeType, signal) {
      let result: HeavyResults['extract'];
      try {
        // Moved, not copied, when the bytes are a whole buffer of their own (an upload's); else copied.
        const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
        result = (await extraction.run(
          { kind: 'extract', bytes, mimeType, limits },
          { signal, transferList: whole && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [] },
        )) as HeavyResults['extract'];
      } catch (error) {
        throw extractionFailure(error);
      }
      if (!result.ok) throw badInput(result.message, result.details);
      return result.value;
    },
    async chunk(content, mimeType, signal) {
      chunking++;
      try {
        return (await indexing.run({ kind: 'chunk', content, mimeType }, { signal })) as Chunk[];
      } catch (error) {
        throw indexingFailure(error, 'chunking the document');
      } finally {
        chunking--;
      }
    },
    async embed(texts, dimensions, signal) {
      let flat: Float32Array;
      try {
        flat = (await indexing.run({ kind: 'embed', texts, dimensions }, { signal })) as Float32Array;
      } catch (error) {
        throw indexingFailure(error, 'embedding the chunks');
      }
      return texts.map((_, i) => Array.from(flat.subarray(i * dimensions, (i + 1) * dimensions)));
    },
    stats: () => ({ extraction: extraction.stats(), indexing: indexing.stats(), chunking }),
    async close() {
      await Promise.all([extraction.close(), indexing.close()]);
    },
  };
}

/** Why an upload could not be read, in the client's terms. */
function extractionFailure(error: unknown): unknown {
  if (error instanceof WorkerTimeout)
    return badInput(`the file took longer than ${error.timeoutMs / 1000} s to read and was refused`, {
      field: 'file',
      timeoutMs: error.timeoutMs,
    });
  if (error instanceof PoolBusy)
    return new AppError('RATE_LIMITED', 'too many uploads are being read; try again shortly', { retryAfterMs: 1_000 });
  if (outOfMemory(error)) return badInput('the file needs too much memory to read and was refused', { field: 'file' });
  return error;
}

/** A clear reason for the document's `error`; a cancellation passes through for the indexer to recognise. */
function indexingFailure(error: unknown, what: string): unknown {
  if (error instanceof WorkerTimeout) return new Error(`${what} took longer than ${error.timeoutMs / 1000} s`);
  if (outOfMemory(error)) return new Error(`${what} needed more memory than a worker may use`);
  return error;
}

const outOfMemory = (error: unknown) => (error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
