import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { markSpanFailed, type Tracing } from '../../tracing/index.js';
import type { ProviderError } from '../provider-error.js';
import type { ChatMessage, FinishReason, StreamPart, TokenUsage } from '../types.js';
import type { Deployment, EmbedResult, RoutedChatRequest, RoutedEmbedRequest } from './types.js';

/** What one upstream call tells its span; every method is a no-op when tracing is off. */
export interface AttemptSpan {
  firstChunk(ttftMs: number): void;
  /** A relayed part: text is kept for the reply only when content capture is on. */
  part(part: StreamPart): void;
  end(error?: ProviderError): void;
}

const noSpan: AttemptSpan = { firstChunk() {}, part() {}, end() {} };

/** The conventions' well-known provider names where they differ from our kinds. */
const PROVIDER_NAMES: Record<string, string> = { xai: 'x_ai' };

/** The conventions' names for finish reasons (OpenAI's words). */
const FINISH: Record<FinishReason, string> = {
  stop: 'stop',
  length: 'length',
  'content-filter': 'content_filter',
  'tool-calls': 'tool_calls',
  error: 'error',
  other: 'other',
};

/**
 * A `chat {model}` CLIENT span for one upstream call (each retry and fallback has its own), a
 * child of the request's span, with the OpenTelemetry GenAI attributes. Prompt and reply text go
 * on it only with the content-capture opt-in, and then redacted.
 */
export function startAttemptSpan(
  tracing: Tracing | undefined,
  deployment: Deployment,
  request: RoutedChatRequest,
): AttemptSpan {
  const tracer = tracing?.tracer;
  if (!tracing || !tracer) return noSpan;
  const span: Span = tracer.startSpan(
    `chat ${deployment.model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': PROVIDER_NAMES[deployment.provider.kind] ?? deployment.provider.kind,
        ...(deployment.provider.name !== deployment.provider.kind
          ? { 'switchyard.provider': deployment.provider.name }
          : {}),
        'gen_ai.request.model': deployment.model,
        'switchyard.deployment.id': deployment.id,
        ...(request.conversationId ? { 'gen_ai.conversation.id': request.conversationId } : {}),
        ...(request.temperature !== undefined ? { 'gen_ai.request.temperature': request.temperature } : {}),
        ...(request.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': request.maxTokens } : {}),
      },
    },
    tracing.active(),
  );
  const capture = tracing.captureContent && span.isRecording();
  if (capture)
    span.setAttribute('gen_ai.input.messages', JSON.stringify(request.messages.map((m) => inputOf(tracing, m))));
  let reply = '';
  let finish: string | undefined;
  return {
    firstChunk(ttftMs) {
      span.setAttribute('gen_ai.response.time_to_first_chunk', ttftMs / 1000);
      span.addEvent('gen_ai.first_chunk');
    },
    part(part) {
      if (part.type === 'text-delta' && capture && reply.length < MAX_REPLY_CHARS) reply += part.text;
      else if (part.type === 'finish') {
        finish = FINISH[part.finishReason.unified];
        usageOn(span, part.usage);
      } else if (part.type === 'error' && part.usage) usageOn(span, part.usage);
    },
    end(error) {
      span.setAttribute('gen_ai.response.model', deployment.model);
      if (finish) span.setAttribute('gen_ai.response.finish_reasons', [finish]);
      if (capture && (reply || finish)) {
        const output = [
          {
            role: 'assistant',
            parts: [{ type: 'text', content: tracing.redact(reply) }],
            finish_reason: finish ?? 'error',
          },
        ];
        span.setAttribute('gen_ai.output.messages', JSON.stringify(output));
      }
      if (error) {
        span.setAttribute('error.type', error.code);
        if (error.status !== undefined) span.setAttribute('http.response.status_code', error.status);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
      }
      span.end();
    },
  };
}

/** Reply text kept before redaction; redaction cuts it further. */
const MAX_REPLY_CHARS = 64 * 1024;

function usageOn(span: Span, usage: Partial<TokenUsage>): void {
  if (usage.promptTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.promptTokens);
  if (usage.completionTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.completionTokens);
}

function inputOf(tracing: Tracing, message: ChatMessage) {
  return { role: message.role, parts: [{ type: 'text', content: tracing.redact(message.content) }] };
}

/** An `embeddings {model}` CLIENT span around one embedding request (its fallbacks inside it). */
export async function withEmbeddingSpan(
  tracing: Tracing | undefined,
  request: RoutedEmbedRequest,
  embed: () => Promise<EmbedResult>,
): Promise<EmbedResult> {
  const tracer = tracing?.tracer;
  if (!tracing || !tracer) return embed();
  const model = request.model ?? 'default';
  const span = tracer.startSpan(
    `embeddings ${model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.request.model': model,
        'switchyard.inputs': request.input.length,
      },
    },
    tracing.active(),
  );
  try {
    const result = await embed();
    span.setAttribute('gen_ai.provider.name', result.provider);
    span.setAttribute('gen_ai.response.model', result.model);
    if (result.usage) span.setAttribute('gen_ai.usage.input_tokens', result.usage.promptTokens);
    return result;
  } catch (error) {
    markSpanFailed(span, (error as { code?: unknown }).code);
    throw error;
  } finally {
    span.end();
  }
}
