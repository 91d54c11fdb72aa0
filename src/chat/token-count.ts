import type { ChatMessage, ToolDefinition } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';

/** Tokens a chat message costs: its text (o200k_base) plus the per-message framing chat formats add. */
const PER_MESSAGE_OVERHEAD = 4;
/** A tool call's framing besides its name and arguments: its id and type. */
const PER_TOOL_CALL_OVERHEAD = 4;
/** Every reply is primed with a few tokens of its own. */
export const REPLY_PRIMING_TOKENS = 3;

/** A message's text, and an assistant's tool calls (name and arguments) with theirs; a tool result is its content. */
export function messageTokens(message: ChatMessage): number {
  let tokens = countTokens(message.content) + PER_MESSAGE_OVERHEAD;
  for (const call of message.toolCalls ?? []) {
    tokens += countTokens(call.name) + countTokens(call.arguments) + PER_TOOL_CALL_OVERHEAD;
  }
  return tokens;
}

/** Tools offered to the model: each one's name, description and parameter schema. */
export function toolDefinitionTokens(tools: readonly ToolDefinition[] | undefined): number {
  let tokens = 0;
  for (const tool of tools ?? []) {
    tokens += countTokens(`${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`);
  }
  return tokens;
}
