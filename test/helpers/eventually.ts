/** Polls until the predicate holds; the bound only stops a broken run from hanging. */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  boundMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
