import type { CrashTail, CrashTails, MessageDelta, MessageStreamStore } from './types.js';

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
