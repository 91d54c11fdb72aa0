/**
 * The ollama SDK takes no per-request AbortSignal and drops response headers from its errors.
 * A fetch bound to one call fixes both: it adds the caller's signal to every request and keeps
 * the last response's headers (for `Retry-After`).
 */
export interface BoundFetch {
  fetch: typeof fetch;
  lastHeaders(): Headers | undefined;
}

export function bindFetch(base: typeof fetch, signal: AbortSignal | undefined): BoundFetch {
  let headers: Headers | undefined;
  const bound = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signals = [init?.signal, signal].filter((s): s is AbortSignal => s != null);
    const response = await base(input, { ...init, signal: signals.length > 0 ? AbortSignal.any(signals) : undefined });
    headers = response.headers;
    return response;
  };
  return { fetch: bound, lastHeaders: () => headers };
}
