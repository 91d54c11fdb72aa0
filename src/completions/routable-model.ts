import { AppError } from '../errors.js';
import type { Router } from '../providers/router/index.js';

/**
 * A model named by a REST call must route as named: one the router cannot route, or routes only
 * by standing the default model in for it (a bare id that would need an absent Ollama), does not
 * exist for a REST caller. NOT_FOUND, which each API answers as its own 404, saying why (GraphQL
 * keeps the fallback to the default).
 */
export function assertRoutableModel(router: Pick<Router, 'resolve'>, model: string): void {
  let source: string;
  try {
    source = router.resolve({ model }).source;
  } catch (error) {
    if (AppError.isInstance(error) && error.code === 'BAD_USER_INPUT') throw modelNotFound(model, error.message);
    throw error;
  }
  if (source === 'default') {
    throw modelNotFound(model, 'not a model or alias this gateway knows, and no Ollama server answers to serve it');
  }
}

const modelNotFound = (model: string, why: string) =>
  new AppError('NOT_FOUND', `The model \`${model}\` does not exist or you do not have access to it: ${why}`, {
    field: 'model',
  });
