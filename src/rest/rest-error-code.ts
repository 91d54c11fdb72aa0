import { AppError } from '../errors.js';
import { ProviderError } from '../providers/provider-error.js';

/** The `extensions.code` a REST failure stands for, for its access-log line (masked: INTERNAL_SERVER_ERROR). */
export function restErrorCode(error: unknown): string {
  return AppError.isInstance(error) || ProviderError.isInstance(error) ? error.code : 'INTERNAL_SERVER_ERROR';
}
