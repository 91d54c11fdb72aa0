import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeltaJournal } from './delta-journal.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import type { LocalStreamStore, MessageDelta } from './types.js';

const ids = ['a1b2c3d4-0000-4000-8000-000000000003', 'a1b2c3d4-0000-4000-8000-000000000004'] as const;
const [id, other] = ids;
const delta = (messageId: string, seq: number): MessageDelta => ({ kind: 'delta', messageId, seq, text: `t${seq} ` });
const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) };

/** The journal's directory lies inside `root`, so a test can see a file written beside it. */
let root: string;
let dir: string;
const open: LocalStreamStore[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'delta-journal-'));
  dir = join(root, 'journal');
  warnings.length = 0;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  rmSync(root, { recursive: true, force: true });
});

/** A process: its journal over a memory buffer, in the shared directory. */
function start() {
  const journal = createDeltaJournal(dir, logger);
  const store = journal.wrap(createMemoryStreamStore());
  open.push(store);
  return { journal, store };
}

async function write(store: LocalStreamStore, messageId: string, from: number, to: number) {
  store.begin(messageId);
  for (let seq = from; seq <= to; seq++) await store.appendDelta(delta(messageId, seq));
}

describe('delta journal', () => {
  it('keeps what a process wrote for a message it did not end, for the sweep of the next one', async () => {
    await write(start().store, id, 1, 4);
    const next = start().journal;
    expect(await next.tail(id, 2)).toEqual({ text: 't3 t4 ', lastSeq: 4 });
    expect(await next.tail(id, 4)).toBeUndefined();
    next.forget(id);
    expect(readdirSync(dir)).toEqual([]);
    expect(await next.tail(id, 0)).toBeUndefined();
  });

  it('writes a delta before the buffer has it, and drops the file once the message ends', async () => {
    const journal = createDeltaJournal(dir, logger);
    const buffer = createMemoryStreamStore();
    const inFileWhenBuffered: (number | undefined)[] = [];
    const store = journal.wrap({
      ...buffer,
      async appendDelta(event) {
        inFileWhenBuffered.push((await journal.tail(id, 0))?.lastSeq);
        await buffer.appendDelta(event);
      },
    });
    open.push(store);
    await write(store, id, 1, 3);
    expect(inFileWhenBuffered).toEqual([1, 2, 3]);
    // A running message's file stays however the sweep asks.
    journal.forget(id);
    journal.prune();
    expect(readdirSync(dir)).toEqual([`${id}.jsonl`]);
    await store.end({ kind: 'completed', messageId: id });
    expect(readdirSync(dir)).toEqual([]);
    expect(buffer.has(id)).toBe(true);
  });

  it('reads past a last line cut off mid-write and a line that is not [seq, text]', async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, `${id}.jsonl`), '[1,"t1 "]\n[2,"t2 "]\n[3,7]\n[3,"t3 "]\n[4,"t');
    expect(await start().journal.tail(id, 0)).toEqual({ text: 't1 t2 t3 ', lastSeq: 3 });
  });

  it("prunes what earlier processes left, and keeps the files of this one's running messages", async () => {
    await write(start().store, id, 1, 2);
    writeFileSync(join(dir, 'notes.txt'), 'not a journal');
    const { journal, store } = start();
    await write(store, other, 1, 1);
    journal.prune();
    expect(readdirSync(dir).sort()).toEqual([`${other}.jsonl`, 'notes.txt']);
  });

  it('never touches a path made from an id that is not a UUID', async () => {
    const { journal, store } = start();
    const sneaky = `../${id}`;
    await write(store, sneaky, 1, 2);
    expect(readdirSync(dir)).toEqual([]);
    expect(readdirSync(root)).toEqual(['journal']);
    expect(await journal.tail(sneaky, 0)).toBeUndefined();
    await store.end({ kind: 'completed', messageId: sneaky });
    expect(warnings).toEqual([]);
  });
});
