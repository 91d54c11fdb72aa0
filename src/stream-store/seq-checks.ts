/** Delta seqs are 1, 2, 3 ...; anything else is a caller's bug, caught before it reaches storage. */
export function assertSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`seq must be a positive integer, got ${seq}`);
}

/** `afterSeq` 0 means from the start. */
export function assertAfterSeq(afterSeq: number): void {
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new RangeError(`afterSeq must be a non-negative integer, got ${afterSeq}`);
  }
}
