import type { ChatMessage } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';

/** Tokens a chat message costs: its text (o200k_base) plus the per-message framing chat formats add. */
const PER_MESSAGE_OVERHEAD = 4;
/** Every reply is primed with a few tokens of its own. */
export const REPLY_PRIMING_TOKENS = 3;

export function messageTokens(message: ChatMessage): number {
  return countTokens(message.content) + PER_MESSAGE_OVERHEAD;
}
