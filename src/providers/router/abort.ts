/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts. The promise is
 * left running (its outcome is swallowed): the caller aborts the work itself through its own signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A timer that keeps the process alive for `ms` unless the signal aborts first. */
export function holdOpen(ms: number, signal: AbortSignal): void {
  if (ms <= 0 || signal.aborted) return;
  const timer = setTimeout(() => signal.removeEventListener('abort', release), ms);
  const release = () => clearTimeout(timer);
  signal.addEventListener('abort', release, { once: true });
}
