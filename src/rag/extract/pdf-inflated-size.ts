import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createInflate, inflateSync } from 'node:zlib';

/** Streams inflated in one piece up to this size; a larger one is counted as it streams. */
const IN_MEMORY = 16 * 1024 * 1024;
/** How far before `stream` its dictionary may start. */
const DICT_WINDOW = 4096;
// Truncated streams are common in real PDFs, and pdf.js reads what there is: so do we.
const TOLERANT = { finishFlush: constants.Z_SYNC_FLUSH };
const STREAMED = { ...TOLERANT, chunkSize: 1024 * 1024 };

class OverBudget extends Error {}

/**
 * How many bytes the PDF's FlateDecode streams inflate to, counting stops soon after the total
 * passes `budget` (the answer is then just over it). A few hundred KB of deflated zeros make
 * hundreds of MB that pdf.js would inflate and parse for minutes: counting them first, without
 * keeping them, refuses such a file in well under a second. Chains (`[/FlateDecode /FlateDecode]`)
 * are followed; other filters shrink their input or are left to the extraction's time bound.
 */
export async function pdfInflatedSize(pdf: Uint8Array, budget: number): Promise<number> {
  const bytes = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  let total = 0;
  for (let at = bytes.indexOf('stream'); at >= 0 && total <= budget; at = bytes.indexOf('stream', at + 6)) {
    if (at >= 3 && bytes.toString('latin1', at - 3, at) === 'end') continue;
    let start = at + 6;
    if (bytes[start] === 0x0d) start++;
    if (bytes[start] !== 0x0a) continue; // `stream` inside some other token
    start++;
    const end = bytes.indexOf('endstream', start);
    const stages = flateStages(dictionaryBefore(bytes, at));
    if (stages > 0)
      total += await inflatedLength(bytes.subarray(start, end < 0 ? bytes.length : end), stages, budget - total);
    if (end < 0) break;
    at = end + 3; // past `endstream`'s own `stream`
  }
  return total;
}

/** The text of the object's dictionary: from its `obj` keyword to `stream`. */
function dictionaryBefore(bytes: Buffer, at: number): string {
  const window = bytes.toString('latin1', Math.max(0, at - DICT_WINDOW), at);
  return window.slice(window.lastIndexOf('obj') + 1);
}

/** How many FlateDecode filters the stream's `/Filter` starts with. */
function flateStages(dictionary: string): number {
  const filter = /\/Filter\s*(\[[^\]]*\]|\/[A-Za-z0-9]+)/.exec(dictionary)?.[1] ?? '';
  const names = filter.match(/\/[A-Za-z0-9]+/g) ?? [];
  let stages = 0;
  while (names[stages] === '/FlateDecode' || names[stages] === '/Fl') stages++;
  return stages;
}

/** Inflated length of `data` through `stages` inflations, stopping once past `limit`. */
async function inflatedLength(data: Buffer, stages: number, limit: number): Promise<number> {
  let current: Buffer = data;
  for (let stage = 0; stage < stages; stage++) {
    try {
      current = inflateSync(current, { ...TOLERANT, maxOutputLength: Math.min(limit + 1, IN_MEMORY) });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' && limit >= IN_MEMORY)
        return streamedLength(current, stages - stage, limit);
      // Over the limit already, or not inflatable (pdf.js will say so): what it made counts as its size.
      return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? limit + 1 : current.length;
    }
  }
  return current.length;
}

/** Like inflatedLength for outputs too big to hold: counts the last stage's output as it streams. */
async function streamedLength(data: Buffer, stages: number, limit: number): Promise<number> {
  let total = 0;
  const count = new Writable({
    write(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      done(total > limit ? new OverBudget() : null);
    },
  });
  const inflaters = Array.from({ length: stages }, () => createInflate(STREAMED));
  await pipeline([Readable.from([data]), ...inflaters, count]).catch(() => {});
  return total;
}
