import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeltaBatcher } from './delta-batcher.js';

// Fake timers fake setImmediate too: running the next timer is the event loop's next turn.
const nextTurn = () => vi.advanceTimersToNextTimer();
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function recorder(windowMs?: number) {
  const emitted: string[] = [];
  const batcher = createDeltaBatcher((text) => emitted.push(text), windowMs);
  return { emitted, batcher };
}

describe('delta batcher without a window', () => {
  it('emits a lone part at once and joins the burst that follows it into one delta on the next turn', () => {
    const { emitted, batcher } = recorder();
    batcher.push('Hel');
    expect(emitted).toEqual(['Hel']);
    batcher.push('lo');
    batcher.push(', wor');
    batcher.push('ld');
    expect(emitted).toEqual(['Hel']);
    nextTurn();
    expect(emitted).toEqual(['Hel', 'lo, world']);
  });

  it('does not hold back parts that arrive on separate turns', () => {
    const { emitted, batcher } = recorder();
    for (const part of ['a', 'b', 'c']) {
      batcher.push(part);
      expect(emitted.at(-1)).toBe(part);
      nextTurn();
    }
    expect(emitted).toEqual(['a', 'b', 'c']);
  });

  it('keeps joining while every turn brings more, and emits at once after a quiet turn', () => {
    const { emitted, batcher } = recorder();
    batcher.push('1');
    batcher.push('2');
    nextTurn(); // releases '2' and opens the next window
    batcher.push('3');
    batcher.push('4');
    expect(emitted).toEqual(['1', '2']);
    nextTurn(); // releases '34'
    nextTurn(); // nothing held: the window closes
    batcher.push('5');
    expect(emitted).toEqual(['1', '2', '34', '5']);
  });

  it('ignores empty parts: they neither emit nor open a window', () => {
    const { emitted, batcher } = recorder();
    batcher.push('');
    expect(emitted).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    batcher.push('a');
    batcher.push('');
    nextTurn();
    expect(emitted).toEqual(['a']);
  });

  it('emits what it holds on flush, nothing twice, and the next part at once', () => {
    const { emitted, batcher } = recorder();
    batcher.push('one');
    batcher.push(' two');
    batcher.push(' three');
    batcher.flush();
    batcher.flush();
    expect(emitted).toEqual(['one', ' two three']);
    expect(vi.getTimerCount()).toBe(0);
    nextTurn();
    expect(emitted).toEqual(['one', ' two three']);
    batcher.push('four');
    expect(emitted).toEqual(['one', ' two three', 'four']);
  });
});

describe('delta batcher with a window', () => {
  it('joins parts that arrive within it, never holding the first', () => {
    const { emitted, batcher } = recorder(40);
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
  });

  it('emits one delta per window however many parts a fast stream sends', () => {
    const { emitted, batcher } = recorder(50);
    // 1,000 parts, one a millisecond: the first at once, then one delta per 50 ms window
    for (let i = 0; i < 1_000; i++) {
      batcher.push(`${i % 10}`);
      vi.advanceTimersByTime(1);
    }
    batcher.flush();
    expect(emitted.join('')).toBe('0123456789'.repeat(100));
    expect(emitted[0]).toBe('0');
    // parts 1-49 arrive before the first window closes at 50 ms, then 50 parts per window
    expect(emitted[1]).toBe(`123456789${'0123456789'.repeat(4)}`);
    expect(emitted.slice(2)).toEqual(Array(19).fill('0123456789'.repeat(5)));
  });
});
