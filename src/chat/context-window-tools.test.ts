import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { ChatMessage, ToolDefinition } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';
import { buildContext } from './context-window.js';
import { messageTokens, REPLY_PRIMING_TOKENS } from './token-count.js';

/** Tool turns count in the window like text: calls' arguments, results, and the tools offered. */
const bulky = JSON.stringify({ rows: Array.from({ length: 400 }, (_, i) => `row number ${i}`) });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const call = (id: string, args = bulky): ChatMessage => ({
  role: 'assistant',
  content: '',
  toolCalls: [{ id, name: 'lookup', arguments: args }],
});
const result = (id: string, content: string): ChatMessage => ({ role: 'tool', toolCallId: id, content });
const tokensOf = (messages: ChatMessage[]) => messages.reduce((sum, m) => sum + messageTokens(m), 0);

describe('tool calls in the context window', () => {
  it('counts an assistant’s tool calls: name, arguments and framing', () => {
    const tokens = messageTokens(call('c1'));
    expect(tokens).toBeGreaterThanOrEqual(countTokens(bulky) + countTokens('lookup') + 4);
    expect(tokens).toBeGreaterThan(messageTokens({ role: 'assistant', content: '' }) + 1_000);
  });

  it('trims a long tool history like text, a call and its result together, never leaving an orphan', () => {
    const history = [
      user('first'),
      call('c1'),
      result('c1', 'ok one'),
      user('second'),
      call('c2'),
      result('c2', 'ok two'),
    ];
    const message = user('and now?');
    const newest = history.slice(3);
    // Room for the newest exchange only: the first call (1,000+ tokens) must go, with its result.
    const contextWindow = 100 + REPLY_PRIMING_TOKENS + tokensOf([...newest, message]) + 50;
    const built = buildContext({ model: 'm', history, message, contextWindow, reservedOutputTokens: 100 });
    expect(built.messages).toEqual([...newest, message]);
    expect(built.droppedTurns).toBe(3);
    expect(built.tokens).toBe(tokensOf(built.messages) + REPLY_PRIMING_TOKENS);

    // A window that would hold the result but not its (bulky) call drops both.
    const tight = 100 + REPLY_PRIMING_TOKENS + tokensOf([result('c2', 'ok two'), user('second'), message]) + 20;
    const cut = buildContext({ model: 'm', history, message, contextWindow: tight, reservedOutputTokens: 100 });
    expect(cut.messages).toEqual([message]);
  });

  it('counts the tools offered, and refuses when they cannot fit with the message', () => {
    const tools: ToolDefinition[] = [
      { name: 'lookup', description: bulky, parameters: { type: 'object', properties: { q: { type: 'string' } } } },
    ];
    const message = user('hello');
    const without = buildContext({ model: 'm', history: [], message, contextWindow: 8_000, reservedOutputTokens: 10 });
    const withTools = buildContext({
      model: 'm',
      history: [],
      message,
      tools,
      contextWindow: 8_000,
      reservedOutputTokens: 10,
    });
    expect(withTools.tokens - without.tokens).toBeGreaterThan(1_000);
    expect(() =>
      buildContext({ model: 'm', history: [], message, tools, contextWindow: 500, reservedOutputTokens: 10 }),
    ).toThrow(AppError);
  });

  it('continuing after tool calls keeps the calls being answered with the last result, however old the rest', () => {
    const history = [user('old'), user('ask'), call('c3'), result('c3', 'first of two')];
    const message = result('c4', 'second of two');
    history[2] = {
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'c3', name: 'a', arguments: bulky },
        { id: 'c4', name: 'b', arguments: '{}' },
      ],
    };
    const answering = history.slice(2);
    const contextWindow = 100 + REPLY_PRIMING_TOKENS + tokensOf([...answering, message]) + 2;
    const built = buildContext({ model: 'm', history, message, contextWindow, reservedOutputTokens: 100 });
    expect(built.messages).toEqual([...answering, message]);
    expect(built.droppedTurns).toBe(2);
    // Too small for the calls being answered: the user is told, nothing half-sent.
    expect(() =>
      buildContext({ model: 'm', history, message, contextWindow: contextWindow - 100, reservedOutputTokens: 100 }),
    ).toThrow(/tokens/);
  });
});
