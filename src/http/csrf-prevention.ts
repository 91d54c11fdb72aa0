import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Headers a browser may only send after a CORS preflight; any one of them shows the request was
 * not forged by a form or a plain `fetch` on another site. Yoga's own; Apollo Server's (its docs
 * tell apollo-upload-client users to send `Apollo-Require-Preflight`; Apollo iOS and Kotlin send
 * the operation name); and `GraphQL-Require-Preflight`, proposed to the GraphQL-over-HTTP working
 * group and required by Hot Chocolate and GraphQL.NET. urql sends none by itself: its
 * `fetchOptions.headers` add one.
 */
export const PREFLIGHT_HEADERS = [
  'x-graphql-yoga-csrf',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'graphql-require-preflight',
];

const REFUSAL =
  'a form, multipart, text/plain or cross-site GET request needs one of the headers ' +
  `${PREFLIGHT_HEADERS.join(', ')} (any value), which a browser sends only after a CORS preflight`;

/**
 * Yoga's CSRF prevention: a request a browser sends without a preflight (a form-encoded,
 * multipart or text/plain POST, or a GET) runs only with one of PREFLIGHT_HEADERS, so a page
 * elsewhere cannot run a mutation, an upload or a `chat` subscription (over SSE) as the user.
 * JSON POSTs are always preflighted cross-origin and pass. One exception, for GETs that no other
 * site sent: the browser says so (`Sec-Fetch-Site: same-origin`, as for GraphiQL's SSE on this
 * server), or it is not a browser (neither `Sec-Fetch-Site` nor `Origin`, as for curl).
 */
export function useCsrfPrevention(): Plugin {
  const { onRequestParse } = useCSRFPrevention({ requestHeaders: PREFLIGHT_HEADERS });
  return {
    onRequestParse(payload) {
      if (payload.request.method === 'GET' && !sentByAnotherSite(payload.request.headers)) return;
      try {
        onRequestParse?.(payload);
      } catch {
        // yoga's refusal names no header; this one says what to send
        throw createGraphQLError(REFUSAL, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
      }
    },
  };
}

/** Whether a GET came from a page on another origin, as far as the browser's own headers tell. */
function sentByAnotherSite(headers: Headers): boolean {
  const site = headers.get('sec-fetch-site');
  if (site !== null) return site !== 'same-origin' && site !== 'none';
  return headers.get('origin') !== null;
}
