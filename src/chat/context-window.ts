import { badInput } from '../errors.js';
import type { ChatMessage } from '../providers/types.js';
import { messageTokens, REPLY_PRIMING_TOKENS } from './token-count.js';

export interface ContextRequest {
  model: string;
  systemPrompt?: string | null;
  /** Extra system sections placed after the prompt: recalled memories, retrieved sources. */
  preamble?: string[];
  /** Earlier turns, oldest first. */
  history: ChatMessage[];
  /** The new user message. */
  message: ChatMessage;
  contextWindow: number;
  /** Tokens kept free for the reply. */
  reservedOutputTokens: number;
}

export interface BuiltContext {
  messages: ChatMessage[];
  /** Prompt tokens as counted here; recorded on the assistant message. */
  tokens: number;
  /** Oldest turns left out to fit. */
  droppedTurns: number;
}

/**
 * The prompt for one generation: the system prompt and preamble first, then as many of the
 * newest turns as fit in the model's window minus the reply's reserve; the oldest drop first.
 * A new message that cannot fit even alone is the user's to shorten: BAD_USER_INPUT.
 */
export function buildContext(request: ContextRequest): BuiltContext {
  const budget = request.contextWindow - request.reservedOutputTokens - REPLY_PRIMING_TOKENS;
  const systemText = [request.systemPrompt, ...(request.preamble ?? [])].filter(Boolean).join('\n\n');
  const system: ChatMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];
  const fixed = system.reduce((sum, m) => sum + messageTokens(m), 0) + messageTokens(request.message);
  if (fixed > budget) {
    throw badInput(
      `The message needs ${fixed} tokens with the system prompt, but ${request.model} takes ${request.contextWindow} ` +
        `with ${request.reservedOutputTokens} kept for the reply. Shorten it or choose a model with a larger context window.`,
      { tokens: fixed, contextWindow: request.contextWindow, reservedOutputTokens: request.reservedOutputTokens },
    );
  }
  let used = fixed;
  let kept = 0;
  for (let i = request.history.length - 1; i >= 0; i--) {
    const cost = messageTokens(request.history[i] as ChatMessage);
    if (used + cost > budget) break;
    used += cost;
    kept++;
  }
  const history = request.history.slice(request.history.length - kept);
  return {
    messages: [...system, ...history, request.message],
    tokens: used + REPLY_PRIMING_TOKENS,
    droppedTurns: request.history.length - kept,
  };
}
