/** Longest run of bytes without a line end in a streamed answer (SSE, NDJSON): one event is a token or a fragment. */
export const MAX_STREAM_LINE_BYTES = 4 * 1024 * 1024;
/** Largest whole answer (a model list, an embedding batch: 96 texts x 3,072 dimensions is about 6 MB of JSON). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface AnswerLimits {
  lineBytes: number;
  bodyBytes: number;
}

/**
 * A fetch for the providers' SDKs whose answers cannot grow without bound. A streamed answer
 * (SSE, NDJSON) fails once `lineBytes` arrive without a line end: the SDKs' line decoders keep
 * everything since the last one, and search it all again on every read, so an endless line costs
 * memory and quadratic time until the request's deadline. Any other answer fails past
 * `bodyBytes`: the SDKs read it whole. The SDK then reports a broken connection, which the
 * providers map to UPSTREAM_ERROR (or PROVIDER_UNAVAILABLE before the answer began).
 */
export function boundedFetch(base: typeof fetch, limits: AnswerLimits = DEFAULT_LIMITS): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (!response.body) return response;
    const type = response.headers.get('content-type') ?? '';
    const streamed = type.includes('text/event-stream') || type.includes('ndjson');
    const guarded = response.body.pipeThrough(streamed ? lineGuard(limits.lineBytes) : sizeGuard(limits.bodyBytes));
    return new Response(guarded, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

const DEFAULT_LIMITS: AnswerLimits = { lineBytes: MAX_STREAM_LINE_BYTES, bodyBytes: MAX_BODY_BYTES };

function lineGuard(max: number): TransformStream<Uint8Array, Uint8Array> {
  let sinceLineEnd = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const last = Math.max(chunk.lastIndexOf(0x0a), chunk.lastIndexOf(0x0d));
      sinceLineEnd = last < 0 ? sinceLineEnd + chunk.length : chunk.length - last - 1;
      if (sinceLineEnd > max) controller.error(new Error(`the upstream sent a line of more than ${max} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

function sizeGuard(max: number): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.length;
      if (total > max) controller.error(new Error(`the upstream answer passed ${max} bytes`));
      else controller.enqueue(chunk);
    },
  });
}
