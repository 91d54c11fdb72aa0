import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { ChatMessage } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';
import { buildContext, type ContextRequest } from './context-window.js';
import { messageTokens, REPLY_PRIMING_TOKENS } from './token-count.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const tokensOf = (messages: ChatMessage[]) => messages.reduce((sum, m) => sum + messageTokens(m), 0);

const history = [
  user('What is Switchyard?'),
  assistant('A GraphQL gateway in front of several model providers, with streaming and retrieval.'),
  user('Which providers?'),
  assistant('OpenAI, Anthropic and Ollama.'),
];
const message = user('And how does it pick one?');

/** A request whose window leaves exactly `room` tokens beyond the new message and the reply's reserve. */
const request = (room: number, more: Partial<ContextRequest> = {}): ContextRequest => {
  const base = { model: 'gpt-test', history, message, reservedOutputTokens: 100, contextWindow: 0, ...more };
  const system = [base.systemPrompt, ...(base.preamble ?? [])].filter(Boolean).join('\n\n');
  const fixed = tokensOf(system ? [{ role: 'system', content: system }, message] : [message]);
  return { ...base, contextWindow: base.reservedOutputTokens + REPLY_PRIMING_TOKENS + fixed + room };
};

describe('messageTokens', () => {
  it("is the content's o200k tokens plus four for the message's framing", () => {
    expect(messageTokens(user('Hello there, gateway.'))).toBe(countTokens('Hello there, gateway.') + 4);
    expect(messageTokens(user(''))).toBe(4);
  });
});

describe('buildContext', () => {
  it('sends every turn when all fit, and counts the prompt with the reply priming', () => {
    const built = buildContext(request(1_000));
    expect(built.messages).toEqual([...history, message]);
    expect(built.droppedTurns).toBe(0);
    expect(built.tokens).toBe(tokensOf([...history, message]) + REPLY_PRIMING_TOKENS);
  });

  it('drops the oldest turns first, keeping the newest that fit exactly', () => {
    const newestTwo = history.slice(2);
    const built = buildContext(request(tokensOf(newestTwo)));
    expect(built.messages).toEqual([...newestTwo, message]);
    expect(built.droppedTurns).toBe(2);
    expect(built.tokens).toBe(tokensOf(built.messages) + REPLY_PRIMING_TOKENS);
    // one token less and the older of the two no longer fits
    expect(buildContext(request(tokensOf(newestTwo) - 1)).messages).toEqual([history[3], message]);
  });

  it('keeps the kept turns contiguous: a small old turn does not jump a large one that did not fit', () => {
    const turns = [user('ok'), assistant('word '.repeat(200)), user('short')];
    const built = buildContext(request(tokensOf([user('short'), user('ok')]), { history: turns }));
    expect(built.messages).toEqual([user('short'), message]);
    expect(built.droppedTurns).toBe(2);
  });

  it('puts the system prompt and preamble sections first, as one system message', () => {
    const built = buildContext(
      request(1_000, { systemPrompt: 'Be brief.', preamble: ['Memories: likes tea.', '', 'Sources: [1] Guide'] }),
    );
    expect(built.messages[0]).toEqual({
      role: 'system',
      content: 'Be brief.\n\nMemories: likes tea.\n\nSources: [1] Guide',
    });
    expect(built.messages.slice(1)).toEqual([...history, message]);
    expect(buildContext(request(0, { systemPrompt: null, preamble: [] })).messages).toEqual([message]);
  });

  it('counts the system message against the window before any turn', () => {
    const systemPrompt = 'Answer in the voice of a ship captain. '.repeat(5);
    const built = buildContext(request(tokensOf(history.slice(3)), { systemPrompt }));
    expect(built.messages.map((m) => m.role)).toEqual(['system', 'assistant', 'user']);
  });

  it('refuses a message that cannot fit even alone, naming the numbers', () => {
    const tooSmall = { ...request(0), contextWindow: request(0).contextWindow - 1 };
    let error: unknown;
    try {
      buildContext(tooSmall);
    } catch (caught) {
      error = caught;
    }
    expect(AppError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { tokens: messageTokens(message), contextWindow: tooSmall.contextWindow, reservedOutputTokens: 100 },
    });
    expect((error as Error).message).toContain('gpt-test');
    // exactly enough room for the message alone is not an error
    expect(buildContext(request(0)).messages).toEqual([message]);
  });
});
