/** Codes every client sees in `errors[].extensions.code` and in `MessageFailed.code`. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'BUDGET_EXCEEDED'
  | 'PROVIDER_UNAVAILABLE'
  | 'UPSTREAM_ERROR'
  /** A reply that does not match the response format's JSON Schema (its text is kept). */
  | 'INVALID_OUTPUT'
  /** The key's privacy policy is `block` and the prompt holds personal data or secrets (`extensions.kinds`). */
  | 'PII_DETECTED'
  | 'CANCELLED'
  | 'INTERRUPTED'
  /** A stream subscriber fell behind the bounded buffer; it can resume with `afterSeq`. */
  | 'STREAM_LAGGED'
  /** This instance is draining for a restart: send again (the load balancer routes elsewhere). */
  | 'SHUTTING_DOWN';

const marker = Symbol.for('switchyard.AppError');

/**
 * An expected failure: it reaches clients with its code and message.
 * Anything that is not an AppError is masked before it leaves the server.
 */
export class AppError extends Error {
  readonly [marker] = true;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  /** Works across copies of this module (vitest workers, bundled builds). */
  static isInstance(value: unknown): value is AppError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} ${id} was not found`, { id });

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);
