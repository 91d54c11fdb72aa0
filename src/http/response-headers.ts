import type { Plugin } from 'graphql-yoga';

/**
 * Headers a resolver adds to its HTTP response (the `x-ratelimit-*` figures of a generation it
 * admitted). Keyed by the request, which yoga hands both to the context factory and to
 * onResponse; a subscription over SSE is admitted before its response starts, so it gets them too.
 * WebSocket operations have no response: they get none.
 */
export function createResponseHeaders() {
  const byRequest = new WeakMap<Request, Headers>();
  return {
    /** The headers the response to `request` will carry. */
    of(request: Request): Headers {
      let headers = byRequest.get(request);
      if (!headers) {
        headers = new Headers();
        byRequest.set(request, headers);
      }
      return headers;
    },
    plugin(): Plugin {
      return {
        onResponse({ request, response }) {
          byRequest.get(request)?.forEach((value, name) => {
            response.headers.set(name, value);
          });
        },
      };
    },
  };
}
