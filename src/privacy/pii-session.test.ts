import { describe, expect, it } from 'vitest';
import { ProviderError } from '../providers/provider-error.js';
import type { RoutedStreamPart } from '../providers/router/types.js';
import type { ChatMessage } from '../providers/types.js';
import { createPiiSession } from './pii-session.js';

/** A fake router stream: records what it was sent, answers with `reply` parts. */
function upstream(reply: RoutedStreamPart[]) {
  const sent: ChatMessage[][] = [];
  const stream = async function* (request: { messages: ChatMessage[] }) {
    sent.push(request.messages);
    yield* reply;
  };
  return { sent, stream };
}

const collect = async (parts: AsyncIterable<RoutedStreamPart>) => {
  const out: RoutedStreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
};

const finish: RoutedStreamPart = {
  type: 'finish',
  usage: { promptTokens: 1, completionTokens: 1 },
  finishReason: { unified: 'stop', raw: 'stop' },
};

describe('createPiiSession', () => {
  it('mask: sends placeholders, restores text and tool-call arguments split anywhere', async () => {
    const { sent, stream } = upstream([
      { type: 'text-delta', text: 'Wrote to [EMAI' },
      { type: 'text-delta', text: 'L_1], not [EMAIL_2' },
      { type: 'text-delta', text: '].' },
      { type: 'tool-call-start', id: 'c1', name: 'send' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: '{"to":"[EM' },
      { type: 'tool-call-delta', id: 'c1', argumentsDelta: 'AIL_1]"}' },
      { type: 'tool-call-end', id: 'c1' },
      finish,
    ]);
    const session = createPiiSession('mask');
    const parts = await collect(
      session.wrap(stream)({ messages: [{ role: 'user', content: 'mail jane@example.com' }] }),
    );
    expect(sent[0]?.[0]?.content).toBe('mail [EMAIL_1]');
    const text = parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
    expect(text).toBe('Wrote to jane@example.com, not [EMAIL_2].');
    const args = parts.map((p) => (p.type === 'tool-call-delta' ? p.argumentsDelta : '')).join('');
    expect(args).toBe('{"to":"jane@example.com"}');
    expect(parts.at(-1)).toEqual(finish);
  });

  it('mask: a placeholder typed in the prompt is never restored to a value', async () => {
    const { sent, stream } = upstream([{ type: 'text-delta', text: '[EMAIL_1] and [EMAIL_2]' }, finish]);
    const session = createPiiSession('mask');
    const parts = await collect(
      session.wrap(stream)({ messages: [{ role: 'user', content: 'Is [EMAIL_1] bob@example.org?' }] }),
    );
    expect(sent[0]?.[0]?.content).toBe('Is [EMAIL_1] [EMAIL_2]?');
    expect(parts[0]).toEqual({ type: 'text-delta', text: '[EMAIL_1] and bob@example.org' });
  });

  it('block: check and every upstream call refuse with PII_DETECTED naming the kinds', async () => {
    const session = createPiiSession('block');
    expect(() => session.check([{ role: 'user', content: 'fine' }])).not.toThrow();
    expect(() => session.check([{ role: 'tool', content: 'card 4111 1111 1111 1111', toolCallId: 'x' }])).toThrow(
      expect.objectContaining({ code: 'PII_DETECTED', details: { kinds: ['CARD'] } }),
    );
    const { sent, stream } = upstream([finish]);
    await expect(
      collect(session.wrap(stream)({ messages: [{ role: 'user', content: 'a@b.io' }] })),
    ).rejects.toMatchObject({ code: 'PII_DETECTED' });
    expect(sent).toEqual([]);
  });

  it('mask and block reach tool definitions, the reply schema and stop sequences; tool names and keys stay', async () => {
    const requests: unknown[] = [];
    const stream = async function* (request: unknown) {
      requests.push(request);
      yield finish;
    };
    const request = {
      messages: [{ role: 'user' as const, content: 'Is [EMAIL_1] taken?' }],
      tools: [{ name: 'mail_jane', description: 'Mail jane@example.com', parameters: { enum: ['jane@example.com'] } }],
      responseFormat: {
        type: 'json-schema' as const,
        name: 'r',
        schema: { properties: { 'a@b.io': { const: 'a@b.io' } } },
      },
      stop: ['card 4111 1111 1111 1111'],
    };
    await collect(createPiiSession('mask').wrap(stream)(request));
    // The literal [EMAIL_1] in the prompt is reserved, so the tool's address is the second.
    expect(requests[0]).toMatchObject({
      messages: [{ content: 'Is [EMAIL_1] taken?' }],
      tools: [{ name: 'mail_jane', description: 'Mail [EMAIL_2]', parameters: { enum: ['[EMAIL_2]'] } }],
      responseFormat: { schema: { properties: { 'a@b.io': { const: '[EMAIL_3]' } } } },
      stop: ['card [CARD_1]'],
    });
    expect(() => createPiiSession('block').check([], { stop: request.stop })).toThrow(
      expect.objectContaining({ code: 'PII_DETECTED', details: { kinds: ['CARD'] } }),
    );
  });

  it('logs: the prompt goes as written, an upstream error echoing it is redacted', async () => {
    const error = new ProviderError({
      provider: 'openai',
      code: 'UPSTREAM_ERROR',
      message: 'bad input: jane@example.com',
    });
    const { sent, stream } = upstream([{ type: 'error', error }]);
    const parts = await collect(
      createPiiSession('logs').wrap(stream)({ messages: [{ role: 'user', content: 'jane@example.com' }] }),
    );
    expect(sent[0]?.[0]?.content).toBe('jane@example.com');
    expect(parts[0]).toMatchObject({ type: 'error', error: { code: 'UPSTREAM_ERROR', message: 'bad input: [EMAIL]' } });
  });

  it('off: the stream itself', () => {
    const { stream } = upstream([]);
    expect(createPiiSession('off').wrap(stream)).toBe(stream);
  });
});
