import { AppError } from '../errors.js';
import type { ChatMessage } from '../providers/types.js';
import type { PiiKind } from './pii-detector.js';
import type { PiiVault } from './pii-masker.js';

export interface MaskedPrompt {
  messages: ChatMessage[];
  /** The kinds found anywhere in the prompt, in PII_KINDS order. */
  kinds: PiiKind[];
}

/**
 * The prompt as the provider may see it: every text the caller or the gateway put into it (system
 * prompt, messages, retrieved chunks and memories inside them, tool-call arguments and tool results)
 * masked through `vault`, so one value keeps one placeholder across the conversation. Images pass as
 * they are: the gateway does not read pixels.
 */
export function maskPrompt(messages: readonly ChatMessage[], vault: PiiVault): MaskedPrompt {
  const kinds = new Set<PiiKind>();
  const mask = (text: string) => {
    const masked = vault.mask(text);
    for (const kind of masked.kinds) kinds.add(kind);
    return masked.text;
  };
  const out = messages.map((message) => {
    const masked: ChatMessage = { ...message, content: mask(message.content) };
    if (message.toolCalls)
      masked.toolCalls = message.toolCalls.map((call) => ({ ...call, arguments: mask(call.arguments) }));
    return masked;
  });
  return { messages: out, kinds: [...kinds].sort() };
}

/** `block`: the refusal, naming the kinds found (never the values). */
export function piiRefusal(kinds: readonly PiiKind[]): AppError {
  return new AppError(
    'PII_DETECTED',
    `The prompt holds personal data or secrets (${kinds.join(', ')}); the personal-data policy that applies (the key's, its user's or the server's) blocks sending them`,
    {
      kinds: [...kinds],
    },
  );
}
