import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { joinTail } from './crash-tail.js';
import type { CrashTails, LocalStreamStore, MessageDelta } from './types.js';

export interface DeltaJournal extends CrashTails {
  /** The local buffer with every delta written here before any reader can see it. */
  wrap(store: LocalStreamStore): LocalStreamStore;
  /** Deletes what earlier processes left for messages this one did not begin (after the start-up sweep). */
  prune(): void;
}

const ID = /^[0-9a-f-]{36}$/i;
const SUFFIX = '.jsonl';

/**
 * Without Redis the only copy of what a generation's subscribers were sent is in this process,
 * and the database gets its partial text once per flush interval: after a kill -9 it could hold
 * less than they had shown. So each running message appends its deltas, as `[seq, text]` lines, to
 * a file of its own under the data directory, synchronously, before the buffer hands them to
 * readers; the file goes when the message ends (its row is final by then). The start-up sweep
 * adds what a file holds beyond the stored text. A write to the page cache costs microseconds
 * and survives the process (not the machine: no fsync, by design).
 */
export function createDeltaJournal(dir: string, logger: Pick<Logger, 'warn'>): DeltaJournal {
  mkdirSync(dir, { recursive: true });
  /** Open files of the messages running here. */
  const files = new Map<string, number>();
  const pathOf = (messageId: string) => join(dir, `${messageId}${SUFFIX}`);

  const drop = (messageId: string) => {
    const fd = files.get(messageId);
    files.delete(messageId);
    if (fd !== undefined) closeSync(fd);
    if (ID.test(messageId)) rmSync(pathOf(messageId), { force: true });
  };

  const write = (messageId: string, seq: number, text: string) => {
    const fd = files.get(messageId);
    if (fd === undefined) return;
    try {
      writeSync(fd, `${JSON.stringify([seq, text])}\n`);
    } catch (error) {
      // A full disk must not stop the chat: this message goes on without its journal.
      logger.warn('delta journal write failed', { messageId, error });
      files.delete(messageId);
      closeSync(fd);
    }
  };

  const read = (messageId: string): MessageDelta[] => {
    let text: string;
    try {
      text = readFileSync(pathOf(messageId), 'utf8');
    } catch {
      return [];
    }
    const deltas: MessageDelta[] = [];
    for (const line of text.split('\n')) {
      try {
        const [seq, delta] = JSON.parse(line) as [number, string];
        if (Number.isInteger(seq) && typeof delta === 'string')
          deltas.push({ kind: 'delta', messageId, seq, text: delta });
      } catch {
        // The last line of a process killed mid-write, or the empty string after the final newline.
      }
    }
    return deltas;
  };

  return {
    wrap(store) {
      return {
        has: (messageId) => store.has(messageId),
        read: (messageId, afterSeq, signal) => store.read(messageId, afterSeq, signal),
        close: () => store.close(),
        begin(messageId) {
          if (ID.test(messageId) && !files.has(messageId)) files.set(messageId, openSync(pathOf(messageId), 'a'));
          store.begin(messageId);
        },
        async appendDelta(delta) {
          write(delta.messageId, delta.seq, delta.text);
          await store.appendDelta(delta);
        },
        async end(event) {
          await store.end(event);
          drop(event.messageId);
        },
      };
    },
    async tail(messageId, afterSeq) {
      return ID.test(messageId) ? joinTail(read(messageId), afterSeq) : undefined;
    },
    forget(messageId) {
      if (!files.has(messageId)) drop(messageId);
    },
    prune() {
      for (const name of readdirSync(dir)) {
        const messageId = name.slice(0, -SUFFIX.length);
        if (name.endsWith(SUFFIX) && !files.has(messageId)) rmSync(join(dir, name), { force: true });
      }
    },
  };
}
