import { ProviderError } from '../providers/provider-error.js';
import type { RoutedStreamPart } from '../providers/router/types.js';
import type { ChatMessage } from '../providers/types.js';
import { detectPii, type PiiKind } from './pii-detector.js';
import { createPiiVault, type StreamRestorer } from './pii-masker.js';
import type { PiiMode } from './pii-modes.js';
import { type MaskedPrompt, maskPrompt, piiRefusal } from './pii-policy.js';
import { redactForTelemetry } from './redact.js';

type StreamFn<R> = (request: R) => AsyncIterable<RoutedStreamPart>;

/**
 * One turn's privacy policy, applied where the prompt leaves the gateway and where the reply
 * comes back: the chat's generation runner and the REST completion service share it.
 */
export interface PiiSession {
  readonly mode: PiiMode;
  /** `block`: throws PII_DETECTED naming the kinds when any text of `messages` holds some. */
  check(messages: readonly ChatMessage[]): void;
  /**
   * The router's stream under the policy. `mask`: each call's messages are masked through the
   * turn's one vault (so tool results added between calls keep the numbering), text and tool-call
   * arguments are restored as they stream. `block`: each call is checked, so a builtin tool's
   * result holding personal data ends the turn with PII_DETECTED. `logs` and `mask`: an upstream
   * error's message (which may echo the prompt) is redacted before it is stored or shown.
   */
  wrap<R extends { messages: ChatMessage[] }>(stream: StreamFn<R>): StreamFn<R>;
}

/** The kinds found anywhere in the prompt's texts, in PII_KINDS order. */
export function kindsIn(messages: readonly ChatMessage[]): PiiKind[] {
  const kinds = new Set<PiiKind>();
  const scan = (text: string) => {
    for (const match of detectPii(text)) kinds.add(match.kind);
  };
  for (const message of messages) {
    scan(message.content);
    for (const call of message.toolCalls ?? []) scan(call.arguments);
  }
  return [...kinds].sort();
}

export function createPiiSession(mode: PiiMode): PiiSession {
  const vault = mode === 'mask' ? createPiiVault() : null;

  const check = (messages: readonly ChatMessage[]) => {
    if (mode !== 'block') return;
    const kinds = kindsIn(messages);
    if (kinds.length > 0) throw piiRefusal(kinds);
  };

  const masked = (messages: readonly ChatMessage[]): MaskedPrompt | null => {
    if (!vault) return null;
    for (const message of messages) {
      vault.reserve(message.content);
      for (const call of message.toolCalls ?? []) vault.reserve(call.arguments);
    }
    return maskPrompt(messages, vault);
  };

  async function* guarded<R extends { messages: ChatMessage[] }>(
    stream: StreamFn<R>,
    request: R,
  ): AsyncGenerator<RoutedStreamPart> {
    check(request.messages);
    const prompt = masked(request.messages);
    const parts = stream(prompt ? { ...request, messages: prompt.messages } : request);
    const text = vault?.restorer();
    const calls = new Map<string, StreamRestorer>();
    const heldText = (): RoutedStreamPart[] => {
      const rest = text?.flush() ?? '';
      return rest === '' ? [] : [{ type: 'text-delta', text: rest }];
    };
    for await (const part of parts) {
      if (!vault || !text) {
        yield part.type === 'error' ? redactedError(part) : part;
        continue;
      }
      if (part.type === 'text-delta') {
        const out = text.push(part.text);
        if (out !== '') yield { ...part, text: out };
        continue;
      }
      yield* heldText();
      if (part.type === 'tool-call-start') {
        calls.set(part.id, vault.restorer());
        yield part;
      } else if (part.type === 'tool-call-delta') {
        const restorer = calls.get(part.id);
        const out = restorer ? restorer.push(part.argumentsDelta) : part.argumentsDelta;
        if (out !== '') yield { ...part, argumentsDelta: out };
      } else if (part.type === 'tool-call-end') {
        const rest = calls.get(part.id)?.flush() ?? '';
        calls.delete(part.id);
        if (rest !== '') yield { type: 'tool-call-delta', id: part.id, argumentsDelta: rest };
        yield part;
      } else {
        // A call never ended still gets its held tail before the stream's end.
        for (const [id, restorer] of calls) {
          const rest = restorer.flush();
          if (rest !== '') yield { type: 'tool-call-delta', id, argumentsDelta: rest };
        }
        calls.clear();
        yield part.type === 'error' ? redactedError(part) : part;
      }
    }
    yield* heldText();
  }

  return {
    mode,
    check,
    wrap: (stream) => (mode === 'off' ? stream : (request) => guarded(stream, request)),
  };
}

/** An error part whose message no longer holds what the detector finds (an upstream may echo the prompt). */
function redactedError(part: Extract<RoutedStreamPart, { type: 'error' }>): RoutedStreamPart {
  const message = redactForTelemetry(part.error.message);
  if (message === part.error.message) return part;
  const { provider, code, status, retryAfterMs, retryable } = part.error;
  const error = new ProviderError({ provider, code, message, status, retryAfterMs, retryable });
  return { ...part, error };
}
