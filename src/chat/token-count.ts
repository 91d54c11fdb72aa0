import type { ChatMessage, ToolDefinition } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';
import type { TokenTally } from '../util/token-tally.js';

/** Tokens a chat message costs: its text (o200k_base) plus the per-message framing chat formats add. */
const PER_MESSAGE_OVERHEAD = 4;
/** A tool call's framing besides its name and arguments: its id and type. */
const PER_TOOL_CALL_OVERHEAD = 4;
/** Every reply is primed with a few tokens of its own. */
export const REPLY_PRIMING_TOKENS = 3;

/** A message's text, and an assistant's tool calls (name and arguments) with theirs; a tool result is its content. */
export function messageTokens(message: ChatMessage): number {
  return messageTexts(message).reduce((sum, text) => sum + countTokens(text), messageFraming(message));
}

/** messageTokens, counted into a request's tally: gives the event loop back while it counts. */
export async function countMessage(tally: TokenTally, message: ChatMessage): Promise<void> {
  tally.add(messageFraming(message));
  for (const text of messageTexts(message)) await tally.count(text);
}

/** messageTokens, counted into a tally at once (for callers that cannot wait): stops past its limit. */
export function countMessageNow(tally: TokenTally, message: ChatMessage): void {
  tally.add(messageFraming(message));
  for (const text of messageTexts(message)) tally.countNow(text);
}

/** Tools offered to the model: each one's name, description and parameter schema. */
export function toolDefinitionTokens(tools: readonly ToolDefinition[] | undefined): number {
  return (tools ?? []).reduce((sum, tool) => sum + countTokens(toolDefinitionText(tool)), 0);
}

/** The text a tool definition is counted as. */
export function toolDefinitionText(tool: ToolDefinition): string {
  return `${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`;
}

const messageFraming = (message: ChatMessage) =>
  PER_MESSAGE_OVERHEAD + (message.toolCalls?.length ?? 0) * PER_TOOL_CALL_OVERHEAD;

function messageTexts(message: ChatMessage): string[] {
  const texts = [message.content];
  for (const call of message.toolCalls ?? []) texts.push(call.name, call.arguments);
  return texts;
}
