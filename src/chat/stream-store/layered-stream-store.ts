import type { LocalStreamStore, MessageStreamStore } from './types.js';

/**
 * Generations running in this process are written to a local buffer and to the shared one; a
 * reader here follows the local buffer (no Redis round trip between a token and its
 * subscriber), a reader of a generation elsewhere follows the shared one. Writes to the shared
 * buffer are sent in order without holding up the local readers; a failed one is reported by
 * the next append or by `end`, so the generation still fails rather than losing deltas quietly.
 */
export function createLayeredStreamStore(local: LocalStreamStore, shared: MessageStreamStore): MessageStreamStore {
  /** Per message: the last shared write in flight, and the first one that failed. */
  const writes = new Map<string, { tail: Promise<void>; failed?: unknown }>();

  const enqueue = (messageId: string, write: () => Promise<void>) => {
    let entry = writes.get(messageId);
    if (!entry) {
      entry = { tail: Promise.resolve() };
      writes.set(messageId, entry);
    }
    const current = entry;
    const tail = current.tail.then(write).catch((error: unknown) => {
      current.failed ??= error;
    });
    current.tail = tail;
    // Settled and nothing queued behind it: forget the message, unless the failure is still to be reported.
    void tail.then(() => {
      if (current.tail === tail && current.failed === undefined && writes.get(messageId) === current) {
        writes.delete(messageId);
      }
    });
  };

  const throwIfFailed = (messageId: string) => {
    const failed = writes.get(messageId)?.failed;
    if (failed !== undefined) throw failed;
  };

  return {
    begin(messageId) {
      local.begin(messageId);
      shared.begin(messageId);
    },

    async appendDelta(messageId, seq, text) {
      throwIfFailed(messageId);
      await local.appendDelta(messageId, seq, text);
      enqueue(messageId, () => shared.appendDelta(messageId, seq, text));
    },

    async end(messageId, event) {
      const pending = writes.get(messageId);
      writes.delete(messageId);
      // Not written here (a sweep, a delete on behalf of another instance): the shared end is the one.
      if (local.has(messageId)) await local.end(messageId, event);
      if (pending) {
        await pending.tail;
        if (pending.failed !== undefined) throw pending.failed;
      }
      await shared.end(messageId, event);
    },

    read(messageId, afterSeq, signal) {
      return local.has(messageId) ? local.read(messageId, afterSeq, signal) : shared.read(messageId, afterSeq, signal);
    },

    async close() {
      await Promise.all([...writes.values()].map((entry) => entry.tail));
      writes.clear();
      await Promise.all([local.close(), shared.close()]);
    },
  };
}
