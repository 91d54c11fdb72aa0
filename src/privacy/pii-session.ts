import { ProviderError } from '../providers/provider-error.js';
import type { RoutedStreamPart } from '../providers/router/types.js';
import type { ChatMessage, ResponseFormat, ToolDefinition } from '../providers/types.js';
import { detectPii, type PiiKind } from './pii-detector.js';
import { createPiiVault, type StreamRestorer } from './pii-masker.js';
import type { PiiMode } from './pii-modes.js';
import { type MaskedPrompt, maskPrompt, piiRefusal } from './pii-policy.js';
import { redactForTelemetry } from './redact.js';

type StreamFn<R> = (request: R) => AsyncIterable<RoutedStreamPart>;

/** What of a request reaches the provider: its messages, and the tools, reply schema and stop sequences beside them. */
export interface PromptParts {
  messages: ChatMessage[];
  tools?: ToolDefinition[] | undefined;
  responseFormat?: ResponseFormat | undefined;
  stop?: string[] | undefined;
}

/**
 * One turn's privacy policy, applied where the prompt leaves the gateway and where the reply
 * comes back: the chat's generation runner and the REST completion service share it.
 */
export interface PiiSession {
  readonly mode: PiiMode;
  /**
   * `block`: throws PII_DETECTED naming the kinds when any text of `messages` holds some, or of
   * `extras` (tool definitions, the reply's schema, stop sequences).
   */
  check(messages: readonly ChatMessage[], extras?: Omit<PromptParts, 'messages'>): void;
  /**
   * The router's stream under the policy. `mask`: each call's messages are masked through the
   * turn's one vault (so tool results added between calls keep the numbering), text and tool-call
   * arguments are restored as they stream. `block`: each call is checked, so a builtin tool's
   * result holding personal data ends the turn with PII_DETECTED. `logs` and `mask`: an upstream
   * error's message (which may echo the prompt) is redacted before it is stored or shown.
   */
  wrap<R extends PromptParts>(stream: StreamFn<R>): StreamFn<R>;
}

/** The kinds found anywhere in the prompt's texts, in PII_KINDS order. */
export function kindsIn(messages: readonly ChatMessage[], extras: Omit<PromptParts, 'messages'> = {}): PiiKind[] {
  const kinds = new Set<PiiKind>();
  const scan = (text: string) => {
    for (const match of detectPii(text)) kinds.add(match.kind);
    return text;
  };
  for (const message of messages) {
    scan(message.content);
    for (const call of message.toolCalls ?? []) scan(call.arguments);
  }
  mapExtras(extras, scan);
  return [...kinds].sort();
}

/**
 * `extras` with every string a provider reads passed through `map`: tool names stay (the model
 * calls them by name), their descriptions and every string inside their parameter schemas, the
 * reply schema's strings (descriptions, `enum`, `const`, defaults), the stop sequences. Object
 * keys stay: they are the reply's field names.
 */
function mapExtras<E extends Omit<PromptParts, 'messages'>>(extras: E, map: (text: string) => string): E {
  const out = { ...extras };
  if (extras.tools)
    out.tools = extras.tools.map((tool) => ({
      ...tool,
      ...(tool.description === undefined ? {} : { description: map(tool.description) }),
      parameters: mapStrings(tool.parameters, map) as Record<string, unknown>,
    }));
  if (extras.responseFormat?.type === 'json-schema')
    out.responseFormat = {
      ...extras.responseFormat,
      schema: mapStrings(extras.responseFormat.schema, map) as Record<string, unknown>,
    };
  if (extras.stop) out.stop = extras.stop.map(map);
  return out;
}

/** A JSON value with each string replaced by `map(string)` (its nesting is bounded by the request's parser). */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, map)]));
  return value;
}

export function createPiiSession(mode: PiiMode): PiiSession {
  const vault = mode === 'mask' ? createPiiVault() : null;

  const check = (messages: readonly ChatMessage[], extras?: Omit<PromptParts, 'messages'>) => {
    if (mode !== 'block') return;
    const kinds = kindsIn(messages, extras);
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

  /** `request` as the provider may see it: its messages masked, and the strings of its tools, schema and stops. */
  const maskedRequest = <R extends PromptParts>(request: R): R => {
    if (!vault) return request;
    // Every literal placeholder reserved before anything is masked (see masked()).
    for (const text of extraTexts(request)) vault.reserve(text);
    const prompt = masked(request.messages) as MaskedPrompt;
    return { ...mapExtras(request, (text) => vault.mask(text).text), messages: prompt.messages };
  };

  async function* guarded<R extends PromptParts>(stream: StreamFn<R>, request: R): AsyncGenerator<RoutedStreamPart> {
    check(request.messages, request);
    const parts = stream(maskedRequest(request));
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

/** Every string `mapExtras` passes through, collected. */
function extraTexts(request: PromptParts): string[] {
  const texts: string[] = [];
  mapExtras(request, (text) => {
    texts.push(text);
    return text;
  });
  return texts;
}

/** An error part whose message no longer holds what the detector finds (an upstream may echo the prompt). */
function redactedError(part: Extract<RoutedStreamPart, { type: 'error' }>): RoutedStreamPart {
  const message = redactForTelemetry(part.error.message);
  if (message === part.error.message) return part;
  const { provider, code, status, retryAfterMs, retryable } = part.error;
  const error = new ProviderError({ provider, code, message, status, retryAfterMs, retryable });
  return { ...part, error };
}
