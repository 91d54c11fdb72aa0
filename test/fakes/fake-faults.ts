/**
 * What a fake does wrong on purpose. Fields combine: `{ firstTokenDelayMs: 500, cutAfterChunks: 3 }`
 * is a slow start followed by a dropped connection.
 */
export interface FaultSpec {
  /** Only requests whose path starts with this, e.g. `/v1/chat/completions`; default: every request. */
  path?: string;
  /** Answer with this status and the provider's own error body instead of a reply. */
  status?: number;
  /** Error message in the body; defaults to a provider-like message for the status. */
  message?: string;
  /** `Retry-After` header: a number of seconds, or a string sent as is (e.g. an HTTP date). */
  retryAfter?: number | string;
  /** `retry-after-ms` header, which OpenAI sends beside `Retry-After`. */
  retryAfterMs?: number;
  /** Destroy the socket before any response (a connection reset). */
  reset?: boolean;
  /** Delay before the first chunk (or before a non-streamed body). */
  firstTokenDelayMs?: number;
  /** Delay before every chunk after the first. */
  tokenDelayMs?: number;
  /** Write this many chunks, then send nothing more until the client goes away (an idle upstream). */
  stallAfterChunks?: number;
  /** Write this many chunks (SSE events / NDJSON lines), then destroy the socket. */
  cutAfterChunks?: number;
  /**
   * Write this many chunks, then bytes with no line end, 64 KiB at a time, until the client goes
   * away or `endlessLineBytes` (default 64 MiB) are out: an upstream whose event never ends.
   */
  endlessLineAfterChunks?: number;
  endlessLineBytes?: number;
  /** Write this many chunks, then one that is not valid JSON, then end the response. */
  malformedAfterChunks?: number;
  /** Leave the top-level `usage` out of a JSON body, as compatible servers that report none do. */
  omitUsage?: boolean;
  /**
   * Overwrite these fields of the reported `usage` (a JSON body's, or any SSE frame's that carries
   * one): what a buggy or hostile upstream might claim, e.g. `{ prompt_tokens: -1000000 }`.
   */
  usage?: Record<string, unknown>;
  /**
   * Awaited before each streamed chunk (0 is the first): a test holds the stream at a point of
   * its choosing, or lets chunks out in step with what a client has received.
   */
  gate?: (chunkIndex: number) => Promise<void> | void;
}

interface Rule {
  spec: FaultSpec;
  remaining: number;
}

/** Queue of faults; the server takes the first rule whose `path` matches each incoming request. */
export interface FaultController {
  /** Apply `spec` to the next `times` matching requests (default 1). */
  next(spec: FaultSpec, times?: number): void;
  /** Apply `spec` to every matching request until `clear()`. */
  always(spec: FaultSpec): void;
  /** Drop every queued fault. */
  clear(): void;
  /** Number of queued rules still active. */
  readonly pending: number;
  /** Used by the server: consume the fault for one request, if any. */
  take(path: string): FaultSpec | undefined;
}

export function createFaultController(): FaultController {
  let rules: Rule[] = [];
  return {
    next(spec, times = 1) {
      rules.push({ spec, remaining: times });
    },
    always(spec) {
      rules.push({ spec, remaining: Number.POSITIVE_INFINITY });
    },
    clear() {
      rules = [];
    },
    get pending() {
      return rules.length;
    },
    take(path) {
      const rule = rules.find((r) => r.spec.path === undefined || path.startsWith(r.spec.path));
      if (!rule) return undefined;
      rule.remaining -= 1;
      if (rule.remaining <= 0) rules = rules.filter((r) => r !== rule);
      return rule.spec;
    },
  };
}

/** Headers a fault's status response carries. */
export function retryHeaders(spec: FaultSpec): Record<string, string> {
  const headers: Record<string, string> = {};
  if (spec.retryAfter !== undefined) headers['retry-after'] = String(spec.retryAfter);
  if (spec.retryAfterMs !== undefined) headers['retry-after-ms'] = String(spec.retryAfterMs);
  return headers;
}
