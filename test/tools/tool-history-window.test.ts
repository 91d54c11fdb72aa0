/**
 * Tool calls count in a GraphQL conversation's context window like text: a stored call whose
 * arguments alone overflow a model's window is trimmed from a later turn's history (with its
 * result, so no call or result is left alone), not sent to a model that cannot hold it.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeChatInput, type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { collect } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const EVENT = `__typename
  ... on MessageCompleted { message { id content } }
  ... on MessageFailed { code error }
  ... on MessageToolCalls { message { id conversation { id } } toolCalls { id } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { ${EVENT} } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${EVENT} } }`;
const SUBMIT = `mutation ($id: ID!, $results: [ToolResultInput!]!) {
  submitToolResults(messageId: $id, results: $results) { assistantMessage { id } } }`;
/** About 10,000 tokens of arguments: more than gpt-4's 8,192-token window on their own. */
const NOTES = Array.from({ length: 10_000 }, (_, i) => `n${i % 10}`).join(' ');
const SAVE = {
  name: 'save_notes',
  parameters: { type: 'object', properties: { notes: { type: 'string' } }, required: ['notes'] },
};

interface Event {
  __typename: string;
  code?: string;
  message?: { id: string; content?: string; conversation?: { id: string } };
}

describe('a long tool history in the context window', () => {
  let server: TestServer;
  let openai: FakeServer;
  let alice: string;
  const seen: FakeChatInput[] = [];

  beforeAll(async () => {
    openai = await startOpenAIFake();
    server = await startTestServer({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL });
    alice = (await keyCaller(server.app.database.prisma, 'alice-window')).authorization;
    openai.setReply((input) => {
      seen.push(input);
      const last = input.messages.at(-1);
      if (last?.role === 'user' && last.content.startsWith('Save')) {
        return { toolCalls: [{ id: 'call_n1', name: 'save_notes', arguments: { notes: NOTES } }] };
      }
      return 'done';
    });
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
  });

  async function run(query: string, variables: Record<string, unknown>, field: string) {
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: alice },
    });
    try {
      return (await collect<Event>(client, query, variables, field).done).at(-1) as Event;
    } finally {
      await client.dispose();
    }
  }

  it('trims the call and its result from a later turn on a smaller model', async () => {
    const asked = await run(CHAT, { input: { content: 'Save my notes', model: 'gpt-4o-mini', tools: [SAVE] } }, 'chat');
    expect(asked.__typename).toBe('MessageToolCalls');
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: alice },
      body: JSON.stringify({
        query: SUBMIT,
        variables: { id: asked.message?.id, results: [{ toolCallId: 'call_n1', content: 'saved' }] },
      }),
    });
    const submitted = (await response.json()) as { data?: { submitToolResults: { assistantMessage: { id: string } } } };
    const next = submitted.data?.submitToolResults.assistantMessage.id as string;
    expect(await run(STREAM, { id: next }, 'messageStream')).toMatchObject({ __typename: 'MessageCompleted' });

    seen.length = 0;
    const conversationId = asked.message?.conversation?.id;
    const later = await run(CHAT, { input: { content: 'Anything else?', model: 'gpt-4', conversationId } }, 'chat');
    expect(later).toMatchObject({ __typename: 'MessageCompleted', message: { content: 'done' } });
    const sent = seen[0] as FakeChatInput;
    expect(sent.messages.some((m) => (m.toolCalls?.length ?? 0) > 0)).toBe(false);
    expect(sent.messages.some((m) => m.role === 'tool')).toBe(false);
    expect(sent.messages.at(-1)).toMatchObject({ role: 'user', content: 'Anything else?' });

    // The larger model still gets the whole exchange, call and result together.
    seen.length = 0;
    await run(CHAT, { input: { content: 'And now?', model: 'gpt-4o-mini', conversationId } }, 'chat');
    const whole = (seen[0] as FakeChatInput).messages;
    expect(whole.find((m) => (m.toolCalls?.length ?? 0) > 0)?.toolCalls?.[0]?.id).toBe('call_n1');
    expect(whole.filter((m) => m.role === 'tool').map((m) => m.toolCallId)).toEqual(['call_n1']);
  });
});
