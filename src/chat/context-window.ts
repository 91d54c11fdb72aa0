import { badInput } from '../errors.js';
import type { ChatMessage, ToolDefinition } from '../providers/types.js';
import { createTokenTally, type TokenTally } from '../util/token-tally.js';
import { countMessageNow, REPLY_PRIMING_TOKENS, toolDefinitionText } from './token-count.js';

export interface ContextRequest {
  model: string;
  systemPrompt?: string | null;
  /** Extra system sections placed after the prompt: recalled memories, retrieved sources. */
  preamble?: string[];
  /** Earlier turns, oldest first. */
  history: ChatMessage[];
  /** The new user message, or (continuing after tool calls) the last tool result. */
  message: ChatMessage;
  /** Tools offered to the model: their definitions are part of the prompt. */
  tools?: readonly ToolDefinition[];
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
 * Earlier messages in the units they are kept or dropped in: an assistant's tool calls go with
 * the results after them (a provider refuses either without the other); any other message alone.
 */
function unitsOf(history: readonly ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (const message of history) {
    const last = units.at(-1);
    if (message.role === 'tool' && last?.[0]?.toolCalls?.length) last.push(message);
    else units.push([message]);
  }
  return units;
}

const countAll = (tally: TokenTally, messages: readonly ChatMessage[]) => {
  for (const message of messages) countMessageNow(tally, message);
};

/**
 * The prompt for one generation: the system prompt, preamble and tool definitions first, then as
 * many of the newest turns as fit in the model's window minus the reply's reserve; the oldest
 * drop first. Tool calls and results count like text, and a call and its results are kept or
 * dropped together. Continuing after tool calls, the calls being answered are part of the new
 * message. A new message that cannot fit even alone is the user's to shorten: BAD_USER_INPUT.
 */
export function buildContext(request: ContextRequest): BuiltContext {
  const budget = request.contextWindow - request.reservedOutputTokens - REPLY_PRIMING_TOKENS;
  const systemText = [request.systemPrompt, ...(request.preamble ?? [])].filter(Boolean).join('\n\n');
  const system: ChatMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];
  const units = unitsOf(request.history);
  // A tool result as the new message needs the calls it answers (and their other results) before it.
  const answering = request.message.role === 'tool' && units.at(-1)?.[0]?.toolCalls?.length ? units.pop() : undefined;
  // Counted only as far as the budget (and a little past it): what is far past it is not counted.
  const tally = createTokenTally({ limit: budget });
  countAll(tally, system);
  for (const tool of request.tools ?? []) tally.countNow(toolDefinitionText(tool));
  countAll(tally, answering ?? []);
  countMessageNow(tally, request.message);
  if (tally.over) {
    const needs = tally.exact ? `${tally.tokens}` : `more than ${tally.tokens}`;
    throw badInput(
      `The message needs ${needs} tokens with the system prompt, but ${request.model} takes ${request.contextWindow} ` +
        `with ${request.reservedOutputTokens} kept for the reply. Shorten it or choose a model with a larger context window.`,
      {
        tokens: tally.tokens,
        contextWindow: request.contextWindow,
        reservedOutputTokens: request.reservedOutputTokens,
      },
    );
  }
  let used = tally.tokens;
  let keptUnits = 0;
  for (let i = units.length - 1; i >= 0; i--) {
    countAll(tally, units[i] as ChatMessage[]);
    if (tally.over) break;
    used = tally.tokens;
    keptUnits++;
  }
  const history = units.slice(units.length - keptUnits).flat();
  const kept = history.length + (answering?.length ?? 0);
  return {
    messages: [...system, ...history, ...(answering ?? []), request.message],
    tokens: used + REPLY_PRIMING_TOKENS,
    droppedTurns: request.history.length - kept,
  };
}
