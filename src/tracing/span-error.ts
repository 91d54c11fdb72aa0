import { type Span, SpanStatusCode } from '@opentelemetry/api';

/** A failed span: `error.type` is the error's code (`extensions.code` or AppError/ProviderError code), else INTERNAL_SERVER_ERROR. */
export function markSpanFailed(span: Span, code: unknown): void {
  const type = typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
