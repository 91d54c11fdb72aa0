import type { ExecutionResult, GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

/**
 * A request error (the result has no `data`: a variable of the wrong type, a multipart request
 * whose `operations` or `map` is not JSON, a File variable that is not a file part) is the
 * client's to fix: it gets BAD_USER_INPUT and HTTP 400 when it came without a code. Field errors
 * (they have a path) and errors that already carry a code are left to the error policy.
 */
export function useRequestErrorCodes(): Plugin {
  const label = (result: ExecutionResult) => {
    if (result.data !== undefined || !result.errors?.length) return;
    for (const error of result.errors as GraphQLError[]) {
      if (error.path || typeof error.extensions?.code === 'string') continue;
      const extensions = error.extensions as Record<string, unknown>;
      // a GraphQLError's extensions are a plain object: completed in place
      extensions.code = 'BAD_USER_INPUT';
      extensions.http = { status: 400, ...(extensions.http as object | undefined) };
    }
  };
  const onDone = (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result }) => label(result));
  return {
    onExecute: () => ({ onExecuteDone: onDone }),
    onSubscribe: () => ({ onSubscribeResult: onDone }),
    onResultProcess({ result }) {
      // errors raised while reading the request itself never reach execute
      for (const single of Array.isArray(result) ? result : [result]) {
        if (single && typeof single === 'object' && !(Symbol.asyncIterator in single)) label(single as ExecutionResult);
      }
    },
  };
}
