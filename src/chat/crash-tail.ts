import type { MessageDelta, MessageStreamStore } from '../stream-store/types.js';

/** Text a dead writer sent its readers after the partial text the database holds. */
export interface CrashTail {
  text: string;
  /** The seq of the last delta in `text`. */
  lastSeq: number;
}

/**
 * Where the sweep finds what a dead instance streamed after its last partial write: the shared
 * Redis Stream, or this machine's delta journal (embedded database). Undefined: nothing known.
 */
export interface CrashTails {
  tail(messageId: string, afterSeq: number): Promise<CrashTail | undefined>;
  /** The message is settled; what was kept for it can go. */
  forget(messageId: string): void;
  /** After the start-up sweep: drops whatever earlier processes left behind. */
  prune(): void;
}

/**
 * The deltas that follow `afterSeq` without a gap, joined. A stream trimmed past `afterSeq`
 * cannot be joined onto the stored text: the stored text stands.
 */
export function joinTail(deltas: Iterable<MessageDelta>, afterSeq: number): CrashTail | undefined {
  let lastSeq = afterSeq;
  let text = '';
  for (const delta of deltas) {
    if (delta.seq <= lastSeq) continue;
    if (delta.seq !== lastSeq + 1) break;
    text += delta.text;
    lastSeq = delta.seq;
  }
  return lastSeq > afterSeq ? { text, lastSeq } : undefined;
}

/** Tails from a store shared between instances (Redis), which outlives the instance that wrote it. */
export function sharedStoreTails(store: MessageStreamStore): CrashTails {
  return {
    async tail(messageId, afterSeq) {
      return store.buffered ? joinTail(await store.buffered(messageId, afterSeq), afterSeq) : undefined;
    },
    forget() {},
    prune() {},
  };
}

export const noCrashTails: CrashTails = { tail: async () => undefined, forget() {}, prune() {} };
