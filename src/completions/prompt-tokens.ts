import { countMessage, REPLY_PRIMING_TOKENS, toolDefinitionText } from '../chat/token-count.js';
import type { ChatRequest } from '../providers/types.js';
import { createTokenTally, type TokenTally } from '../util/token-tally.js';

/**
 * An image's prompt tokens as holds and limits count them: providers bill by pixels, up to about
 * 1,600 tokens for the largest image they take without scaling (Anthropic), less for OpenAI.
 */
export const IMAGE_TOKENS = 1_600;

/**
 * A request's prompt as the gateway counts it: messages, tool calls and results, tool definitions,
 * images. Counted in turns of the event loop (a megabyte of text is a second or more of BPE), and
 * no further than a little past `limit` (the context window: a prompt far past it is refused
 * without counting the rest); see TokenTally for what `tokens` then means.
 */
export async function promptTokens(
  request: Pick<ChatRequest, 'messages' | 'tools'>,
  limit = Number.POSITIVE_INFINITY,
): Promise<TokenTally> {
  const tally = createTokenTally({ limit });
  tally.add(REPLY_PRIMING_TOKENS);
  for (const message of request.messages) {
    await countMessage(tally, message);
    tally.add((message.images?.length ?? 0) * IMAGE_TOKENS);
  }
  for (const tool of request.tools ?? []) await tally.count(toolDefinitionText(tool));
  return tally;
}
