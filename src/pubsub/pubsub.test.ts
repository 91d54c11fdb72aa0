import { describe, expect, it } from 'vitest';
import { createLocalEvents } from './pubsub.js';

describe('createLocalEvents', () => {
  it('takes many subscribers of one topic without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const events = createLocalEvents<{ health: [number] }>();
      const iterators = Array.from({ length: 20 }, () => events.subscribe('health')[Symbol.asyncIterator]());
      const received = Promise.all(iterators.map((iterator) => iterator.next()));
      // Subscribers attach as their first next() runs: publish once they all have.
      await new Promise((resolve) => setImmediate(resolve));
      events.publish('health', 7);
      expect((await received).map((result) => result.value)).toEqual(Array(20).fill(7));
      await Promise.all(iterators.map((iterator) => iterator.return?.()));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
