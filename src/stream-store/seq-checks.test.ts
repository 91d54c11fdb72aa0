import { describe, expect, it } from 'vitest';
import { assertAfterSeq, assertSeq } from './seq-checks.js';

const notIntegers = [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];

describe('assertSeq', () => {
  it('takes positive safe integers', () => {
    for (const seq of [1, 2, Number.MAX_SAFE_INTEGER]) expect(() => assertSeq(seq)).not.toThrow();
  });

  it('refuses 0, negatives and what is not a safe integer, naming the value', () => {
    for (const seq of [0, -1, ...notIntegers]) {
      expect(() => assertSeq(seq)).toThrow(new RangeError(`seq must be a positive integer, got ${seq}`));
    }
  });
});

describe('assertAfterSeq', () => {
  it('takes 0 (from the start) and positive safe integers', () => {
    for (const afterSeq of [0, 1, Number.MAX_SAFE_INTEGER]) expect(() => assertAfterSeq(afterSeq)).not.toThrow();
  });

  it('refuses negatives and what is not a safe integer, naming the value', () => {
    for (const afterSeq of [-1, ...notIntegers]) {
      expect(() => assertAfterSeq(afterSeq)).toThrow(
        new RangeError(`afterSeq must be a non-negative integer, got ${afterSeq}`),
      );
    }
  });
});
