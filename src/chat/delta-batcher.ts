export interface DeltaBatcher {
  /** Text from the upstream, in order. */
  push(text: string): void;
  /** Emits whatever is held back, now. */
  flush(): void;
}

/**
 * Turns upstream text parts into deltas: a part that arrives on its own is emitted at once; parts
 * that arrive in a burst (several in one network read, or a gateway catching up) after it are
 * joined into one delta emitted when the event loop next turns. Readers see the same text with
 * fewer events, and a slow token stream is not delayed at all.
 */
export function createDeltaBatcher(emit: (text: string) => void): DeltaBatcher {
  let held = '';
  let window: NodeJS.Immediate | undefined;

  const release = () => {
    window = undefined;
    if (held === '') return;
    const text = held;
    held = '';
    emit(text);
  };

  return {
    push(text) {
      if (text === '') return;
      if (window) {
        held += text;
        return;
      }
      emit(text);
      window = setImmediate(release);
    },
    flush() {
      if (window) clearImmediate(window);
      release();
    },
  };
}
