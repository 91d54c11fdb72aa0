import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { MessageDelta, MessageEnd, MessageStreamEvent, MessageStreamStore } from '../../src/stream-store/index.js';

export const completed = (messageId: string): MessageEnd => ({ kind: 'completed', messageId });

export const delta = (messageId: string, seq: number, text = `t${seq} `): MessageDelta => ({
  kind: 'delta',
  messageId,
  seq,
  text,
});

/** Deltas `from..to` of `messageId` with the texts `writeDeltas` appends, then `end` when given. */
export function expected(messageId: string, from: number, to: number, end?: MessageEnd): MessageStreamEvent[] {
  const events: MessageStreamEvent[] = [];
  for (let seq = from; seq <= to; seq++) events.push(delta(messageId, seq));
  if (end) events.push(end);
  return events;
}

export async function writeDeltas(store: MessageStreamStore, messageId: string, from: number, to: number) {
  for (let seq = from; seq <= to; seq++) await store.appendDelta(delta(messageId, seq));
}

export async function collect(
  events: AsyncIterable<MessageStreamEvent>,
  onEvent?: (event: MessageStreamEvent) => unknown,
): Promise<MessageStreamEvent[]> {
  const seen: MessageStreamEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    await onEvent?.(event);
  }
  return seen;
}
/** A few microtask turns, sometimes a real timer: lets readers and Redis replies interleave anywhere. */
export async function jitter() {
  const roll = Math.random();
  if (roll < 0.2) await sleep(1);
  else if (roll < 0.6) await nextTurn();
}

/** Resolves once `condition()` holds; fails the test after `ms`, generous for a loaded machine. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${condition.toString()}`);
    await sleep(5);
  }
}
