import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type MaskError, maskError, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one place errors are shaped for clients. Expected failures (AppError, invalid arguments)
 * keep their message and get `extensions.code`; anything else is logged with the request id and
 * masked. Yoga's own masking stays on behind this, for errors raised outside execution.
 */
export function useErrorPolicy(logger: Logger): Plugin<Context> {
  const shape = (context: Partial<Context>) => (errors: readonly GraphQLError[]) =>
    errors.map((error) => toClientError(error, context.requestId ?? 'unknown', logger));
  return {
    onExecute({ args }) {
      const rewrite = shape(args.contextValue);
      return {
        onExecuteDone: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
            if (result.errors?.length) setResult({ ...result, errors: rewrite(result.errors) });
          }),
      };
    },
    onSubscribe({ args }) {
      const rewrite = shape(args.contextValue);
      return {
        onSubscribeResult: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
            if (result.errors?.length) setResult({ ...result, errors: rewrite(result.errors) });
          }),
      };
    },
  };
}

export function toClientError(error: GraphQLError, requestId: string, logger: Logger): GraphQLError {
  const original = error.originalError ?? error;
  const at = { nodes: error.nodes, path: error.path, source: error.source, positions: error.positions };
  if (AppError.isInstance(original)) {
    return new GraphQLError(original.message, { ...at, extensions: { ...original.details, code: original.code } });
  }
  if (original instanceof PothosValidationError) {
    return new GraphQLError(original.message, { ...at, extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (original instanceof GraphQLError && !(original.originalError instanceof Error)) return error;
  logger.error('unexpected error', { requestId, code: 'INTERNAL_SERVER_ERROR', path: error.path, error: original });
  return new GraphQLError('Unexpected error.', { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}

/**
 * Yoga's last line of masking, for errors raised outside execution results (a subscription's
 * source stream failing mid-way): expected AppErrors keep their code, the rest are masked.
 */
export const maskUnexpected: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (AppError.isInstance(original)) {
    const at = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    return new GraphQLError(original.message, { ...at, extensions: { ...original.details, code: original.code } });
  }
  return maskError(error, message, isDev);
};
