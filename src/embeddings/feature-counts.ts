/**
 * How often each 32-bit feature hash occurs in a text, listed in the order first seen (the order
 * the vector sums them in, which fixes its last bits). An open-addressing table of typed arrays:
 * counting a feature allocates nothing, where a Map would box most hashes as heap numbers.
 */
export interface FeatureCounts {
  add(hash: number): void;
  clear(): void;
  readonly size: number;
  /** Each distinct hash (as a signed 32-bit integer) and its count, in first-seen order. */
  forEach(visit: (hash: number, count: number) => void): void;
}

/** `initialCapacity` is a power of two, 2 or more; the table doubles as it fills. */
export function createFeatureCounts(initialCapacity = 1024): FeatureCounts {
  let capacity = initialCapacity;
  let keys = new Int32Array(capacity);
  let counts = new Int32Array(capacity); // 0 marks an empty slot
  let order = new Int32Array(capacity / 2); // slots in first-seen order
  let size = 0;
  let shift = 32 - Math.log2(capacity);

  // Fibonacci hashing: the top bits of hash × 2^32/φ spread even hashes that differ only high up
  const slotOf = (hash: number) => {
    let slot = Math.imul(hash, 0x9e3779b1) >>> shift;
    while (counts[slot] !== 0 && keys[slot] !== hash) slot = (slot + 1) & (capacity - 1);
    return slot;
  };
  const grow = () => {
    const old = { keys, counts, order };
    capacity *= 2;
    shift--;
    keys = new Int32Array(capacity);
    counts = new Int32Array(capacity);
    order = new Int32Array(capacity / 2);
    for (let i = 0; i < size; i++) {
      const from = old.order[i] as number;
      const slot = slotOf(old.keys[from] as number);
      keys[slot] = old.keys[from] as number;
      counts[slot] = old.counts[from] as number;
      order[i] = slot;
    }
  };

  return {
    add(hash) {
      const key = hash | 0;
      const slot = slotOf(key);
      if (counts[slot] !== 0) {
        counts[slot] = (counts[slot] as number) + 1;
        return;
      }
      keys[slot] = key;
      counts[slot] = 1;
      order[size++] = slot;
      if (size >= capacity / 2) grow();
    },
    clear() {
      for (let i = 0; i < size; i++) counts[order[i] as number] = 0;
      size = 0;
    },
    get size() {
      return size;
    },
    forEach(visit) {
      for (let i = 0; i < size; i++) {
        const slot = order[i] as number;
        visit(keys[slot] as number, counts[slot] as number);
      }
    },
  };
}
