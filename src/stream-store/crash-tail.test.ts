import { describe, expect, it } from 'vitest';
import { joinTail, sharedStoreTails } from './crash-tail.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import type { MessageDelta, MessageStreamStore } from './types.js';

const id = 'a1b2c3d4-0000-4000-8000-000000000002';
const deltas = (...seqs: number[]): MessageDelta[] =>
  seqs.map((seq) => ({ kind: 'delta', messageId: id, seq, text: `t${seq} ` }));

describe('joinTail', () => {
  it('joins the deltas that follow afterSeq, skipping those the stored text already has', () => {
    expect(joinTail(deltas(3, 4, 5), 2)).toEqual({ text: 't3 t4 t5 ', lastSeq: 5 });
    expect(joinTail(deltas(1, 2, 3, 4), 2)).toEqual({ text: 't3 t4 ', lastSeq: 4 });
    expect(joinTail(deltas(3, 3, 4), 2)).toEqual({ text: 't3 t4 ', lastSeq: 4 });
  });

  it('stops at a gap, and gives nothing when the deltas start past afterSeq + 1 or hold nothing new', () => {
    expect(joinTail(deltas(3, 4, 6, 7), 2)).toEqual({ text: 't3 t4 ', lastSeq: 4 });
    expect(joinTail(deltas(4, 5), 2)).toBeUndefined();
    expect(joinTail(deltas(1, 2), 2)).toBeUndefined();
    expect(joinTail([], 0)).toBeUndefined();
  });
});

describe('sharedStoreTails', () => {
  it("joins what the store still buffers after the stored text's last seq", async () => {
    const asked: number[] = [];
    const store = {
      buffered: async (_messageId: string, afterSeq: number) => {
        asked.push(afterSeq);
        return deltas(3, 4);
      },
    } as MessageStreamStore;
    expect(await sharedStoreTails(store).tail(id, 2)).toEqual({ text: 't3 t4 ', lastSeq: 4 });
    expect(asked).toEqual([2]);
  });

  it('knows nothing of a store that does not outlive its writer', async () => {
    const store = createMemoryStreamStore();
    await store.appendDelta(deltas(1)[0] as MessageDelta);
    expect(await sharedStoreTails(store).tail(id, 0)).toBeUndefined();
    await store.close();
  });
});
