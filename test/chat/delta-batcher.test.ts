import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { createDeltaBatcher } from '../../src/chat/delta-batcher.js';

describe('delta batcher', () => {
  it('emits a lone part at once and joins a burst that follows it into one delta', async () => {
    const emitted: string[] = [];
    const batcher = createDeltaBatcher((text) => emitted.push(text));
    batcher.push('Hel');
    expect(emitted).toEqual(['Hel']);
    batcher.push('lo');
    batcher.push('');
    batcher.push(', wor');
    batcher.push('ld');
    expect(emitted).toEqual(['Hel']);
    await nextTurn();
    expect(emitted).toEqual(['Hel', 'lo, world']);
  });

  it('does not hold back parts that arrive apart', async () => {
    const emitted: string[] = [];
    const batcher = createDeltaBatcher((text) => emitted.push(text));
    for (const part of ['a', 'b', 'c']) {
      batcher.push(part);
      expect(emitted.at(-1)).toBe(part);
      await sleep(2);
    }
    expect(emitted).toEqual(['a', 'b', 'c']);
  });

  it('emits what it holds on flush, and nothing twice', async () => {
    const emitted: string[] = [];
    const batcher = createDeltaBatcher((text) => emitted.push(text));
    batcher.push('one');
    batcher.push(' two');
    batcher.flush();
    batcher.flush();
    await nextTurn();
    expect(emitted).toEqual(['one', ' two']);
  });

  it('with a window, joins parts that arrive within it, never holding the first', () => {
    vi.useFakeTimers();
    try {
      const emitted: string[] = [];
      const batcher = createDeltaBatcher((text) => emitted.push(text), 40);
      batcher.push('a');
      expect(emitted).toEqual(['a']);
      batcher.push('b');
      vi.advanceTimersByTime(10);
      batcher.push('c');
      vi.advanceTimersByTime(29);
      expect(emitted).toEqual(['a']);
      vi.advanceTimersByTime(1);
      expect(emitted).toEqual(['a', 'bc']);
      // The window reopened when 'bc' went out: 'd' waits for it to close.
      batcher.push('d');
      vi.advanceTimersByTime(39);
      expect(emitted).toEqual(['a', 'bc']);
      vi.advanceTimersByTime(1);
      expect(emitted).toEqual(['a', 'bc', 'd']);
      // Quiet for a whole window since: the next part goes out at once.
      vi.advanceTimersByTime(40);
      batcher.push('e');
      expect(emitted).toEqual(['a', 'bc', 'd', 'e']);
      batcher.push('f');
      batcher.flush();
      expect(emitted).toEqual(['a', 'bc', 'd', 'e', 'f']);
      vi.advanceTimersByTime(100);
      expect(emitted).toEqual(['a', 'bc', 'd', 'e', 'f']);
    } finally {
      vi.useRealTimers();
    }
  });
});
