/**
 * `x-switchyard-conversation` on the REST endpoints (issue #17): a call stored as a conversation
 * turn when the caller asks (`new` or a conversation's ID), through the same path as GraphQL's
 * chat. The official `openai` and `@anthropic-ai/sdk` clients against the real server; the stored
 * conversation read back over GraphQL, its message followed with `messageStream` over graphql-ws
 * (from the other instance when there are two), a client that goes away leaving it CANCELLED.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeChatInput, type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { signedInClient } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import {
  LIMITS_BACKENDS,
  type LimitsCluster,
  type Member,
  ok,
  post,
  startLimitsCluster,
} from '../helpers/limits-cluster.js';
import { holdInserts } from '../helpers/postgres.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, shape } from '../helpers/subscribe.js';

const HEADER = 'x-switchyard-conversation';
const globalId = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64url');
const dbId = (id: string) => Buffer.from(id, 'base64url').toString('utf8').split(':')[1] as string;

const CONVERSATION = `query($id: ID!) {
  conversation(id: $id) {
    id title systemPrompt model
    messages { edges { node { id role status content model usage { promptTokens completionTokens } toolCalls { id name arguments } } } }
  }
}`;

interface StoredMessage {
  id: string;
  role: 'USER' | 'ASSISTANT';
  status: string;
  content: string;
  model: string | null;
  usage: { promptTokens: number; completionTokens: number } | null;
  toolCalls: { id: string; name: string; arguments: string }[];
}
interface StoredConversation {
  id: string;
  title: string;
  systemPrompt: string | null;
  model: string | null;
  messages: { edges: { node: StoredMessage }[] };
}

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`REST calls stored as conversations: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;
    let anthropic: FakeServer;
    let alice: Member;
    let bob: Member;

    const openaiFor = (member: Member, i = 0, headers: Record<string, string> = {}) =>
      new OpenAI({
        apiKey: member.secret,
        baseURL: `${cluster.pick(i).origin}/v1`,
        maxRetries: 0,
        defaultHeaders: headers,
      });
    const anthropicFor = (member: Member, i = 0) =>
      new Anthropic({ apiKey: member.secret, baseURL: cluster.pick(i).origin, maxRetries: 0 });

    /** The conversation as its owner reads it over GraphQL (from the last instance). */
    const conversationOf = async (member: Member, id: string) =>
      ok(await post<{ conversation: StoredConversation | null }>(cluster.pick(1), member.secret, CONVERSATION, { id }))
        .conversation;
    const messagesOf = (conversation: StoredConversation | null) =>
      (conversation?.messages.edges ?? []).map((e) => e.node);

    beforeAll(async () => {
      [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
      cluster = await startLimitsCluster(backend, {
        env: fakeProviderEnv({ openai, anthropic }),
      });
      [alice, bob] = await Promise.all([cluster.member('alice'), cluster.member('bob')]);
    });
    afterAll(async () => {
      await cluster?.close();
      await Promise.all([openai?.close(), anthropic?.close()]);
    });
    afterEach(() => {
      for (const fake of [openai, anthropic]) {
        fake.faults.clear();
        fake.setReply(undefined);
      }
    });

    it('`new` stores a conversation, visible over GraphQL with both messages, and names it in headers', async () => {
      const client = openaiFor(alice, 0, { [HEADER]: 'new' });
      const { data, response } = await client.chat.completions
        .create({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Plan a trip to Porto' },
          ],
        })
        .withResponse();
      expect(data.object).toBe('chat.completion');
      expect(data.choices[0]?.message.content).toBe('echo: Plan a trip to Porto');
      expect(data.choices[0]?.finish_reason).toBe('stop');
      expect(data.usage?.completion_tokens).toBeGreaterThan(0);
      const conversationId = response.headers.get('x-switchyard-conversation-id') as string;
      const messageId = response.headers.get('x-switchyard-message-id') as string;
      expect(Buffer.from(conversationId, 'base64url').toString()).toMatch(/^Conversation:/);
      expect(Buffer.from(messageId, 'base64url').toString()).toMatch(/^Message:/);
      expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull(); // no limits on this key

      const conversation = await conversationOf(alice, conversationId);
      expect(conversation).toMatchObject({
        id: conversationId,
        title: 'Plan a trip to Porto',
        systemPrompt: 'Be brief.',
        model: 'gpt-4o-mini',
      });
      const messages = messagesOf(conversation);
      expect(messages.map((m) => [m.role, m.status, m.content])).toEqual([
        ['USER', 'COMPLETE', 'Plan a trip to Porto'],
        ['ASSISTANT', 'COMPLETE', 'echo: Plan a trip to Porto'],
      ]);
      expect(messages[1]?.id).toBe(messageId);
      expect(messages[1]?.usage?.completionTokens).toBe(data.usage?.completion_tokens);
      // Charged once, as a stored message's usage event.
      const events = await cluster.db.usageEvent.findMany({ where: { messageId: dbId(messageId) } });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ apiKeyId: alice.keyId, status: 'COMPLETE', model: 'gpt-4o-mini' });

      // Without the header nothing is stored.
      const before = await cluster.db.conversation.count({ where: { userId: alice.userId } });
      await openaiFor(alice).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'not stored' }],
      });
      expect(await cluster.db.conversation.count({ where: { userId: alice.userId } })).toBe(before);
    });

    it('`new` with earlier turns stores them in order; an ID appends only what follows the last assistant message', async () => {
      const created = await openaiFor(alice, 0, { [HEADER]: 'new' })
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'user', content: 'one' },
            { role: 'assistant', content: 'two' },
            { role: 'user', content: 'three' },
          ],
        })
        .withResponse();
      const id = created.response.headers.get('x-switchyard-conversation-id') as string;
      expect((await conversationOf(alice, id))?.title).toBe('one');
      expect(messagesOf(await conversationOf(alice, id)).map((m) => m.content)).toEqual([
        'one',
        'two',
        'three',
        'echo: three',
      ]);

      // The whole history again, as OpenAI clients send it, with a different earlier turn: the
      // stored history is what the model sees, and only the new user message is added.
      const appended = await openaiFor(alice, 1).chat.completions.create(
        {
          model: 'gpt-4o-mini',
          messages: [
            { role: 'user', content: 'one (edited)' },
            { role: 'assistant', content: 'echo: three' },
            { role: 'user', content: 'four' },
          ],
        },
        { headers: { [HEADER]: id } },
      );
      expect(appended.choices[0]?.message.content).toBe('echo: four');
      const sent = openai.lastRequest('/v1/chat/completions')?.body as { messages: { content: string }[] };
      expect(sent.messages.map((m) => m.content)).toEqual(['one', 'two', 'three', 'echo: three', 'four']);

      // Only the new message, and a system prompt that becomes the conversation's, over Anthropic's API, streamed.
      const stream = anthropicFor(alice, 0).messages.stream(
        {
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          system: 'Answer in French.',
          messages: [{ role: 'user', content: 'five' }],
        },
        { headers: { [HEADER]: id } },
      );
      const final = await stream.finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: 'echo: five' }]);
      const conversation = await conversationOf(alice, id);
      expect(conversation?.systemPrompt).toBe('Answer in French.');
      expect(messagesOf(conversation).map((m) => [m.role, m.content, m.model])).toEqual([
        ['USER', 'one', null],
        ['ASSISTANT', 'two', null],
        ['USER', 'three', null],
        ['ASSISTANT', 'echo: three', 'gpt-4o-mini'],
        ['USER', 'four', null],
        ['ASSISTANT', 'echo: four', 'gpt-4o-mini'],
        ['USER', 'five', null],
        ['ASSISTANT', 'echo: five', 'claude-haiku-4-5'],
      ]);
      const upstream = anthropic.lastRequest('/v1/messages')?.body as {
        system: unknown;
        messages: { content: unknown }[];
      };
      expect(JSON.stringify(upstream.system)).toContain('Answer in French.');
      expect(upstream.messages).toHaveLength(7);
    });

    it('answers 404 in each API’s shape for another user’s or an unknown conversation, 400 for a bad header value', async () => {
      const created = await openaiFor(alice, 0, { [HEADER]: 'new' })
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'mine' }] })
        .withResponse();
      const id = created.response.headers.get('x-switchyard-conversation-id') as string;
      const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'let me in' }] };

      const theirs = await openaiFor(bob, 0, { [HEADER]: id })
        .chat.completions.create(ask)
        .catch((e: unknown) => e);
      expect(theirs).toBeInstanceOf(OpenAI.NotFoundError);
      expect(theirs).toMatchObject({ status: 404, code: 'not_found', type: 'invalid_request_error' });
      expect((theirs as Error).message).toContain(id);
      const unknown = globalId('Conversation', '00000000-0000-4000-8000-000000000000');
      const missing = await openaiFor(alice, 0, { [HEADER]: unknown })
        .chat.completions.create({ ...ask, stream: true })
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      const anthropicMissing = await anthropicFor(bob)
        .messages.create({ ...ask, max_tokens: 10 }, { headers: { [HEADER]: id } })
        .catch((e: unknown) => e);
      expect(anthropicMissing).toBeInstanceOf(Anthropic.NotFoundError);
      expect(anthropicMissing).toMatchObject({ status: 404, error: { error: { type: 'not_found_error' } } });
      // Nothing was written to the conversation by the refused calls.
      expect(messagesOf(await conversationOf(alice, id))).toHaveLength(2);

      for (const bad of ['x'.repeat(129), 'junk!', dbId(id), globalId('Message', dbId(id)), ' ']) {
        const refused = await openaiFor(alice, 0, { [HEADER]: bad })
          .chat.completions.create(ask)
          .catch((e: unknown) => e);
        expect(refused, bad).toBeInstanceOf(OpenAI.BadRequestError);
        expect(refused).toMatchObject({ status: 400, param: HEADER });
      }
      const anthropicBad = await anthropicFor(alice)
        .messages.create({ ...ask, max_tokens: 10 }, { headers: { [HEADER]: 'junk!' } })
        .catch((e: unknown) => e);
      expect(anthropicBad).toBeInstanceOf(Anthropic.BadRequestError);
    });

    it('refuses what a stored turn cannot hold with a clear 400: images, stop sequences, tool results for a new one', async () => {
      const client = openaiFor(alice, 0, { [HEADER]: 'new' });
      const image = client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            ],
          },
        ],
      });
      await expect(image).rejects.toMatchObject({ status: 400, param: 'messages', message: /images cannot be stored/ });
      const stop = client.chat.completions.create({
        model: 'gpt-4o',
        stop: ['x'],
        messages: [{ role: 'user', content: 'hi' }],
      });
      await expect(stop).rejects.toMatchObject({ status: 400, param: 'stop' });
      const results = client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
        ],
      });
      await expect(results).rejects.toMatchObject({ status: 400, param: 'messages' });
    });

    it('stores a tool call round trip: REQUIRES_ACTION, then the tool results sent with the ID continue it', async () => {
      openai.setReply((input: FakeChatInput) =>
        input.messages.at(-1)?.role === 'tool'
          ? `It is ${input.messages.at(-1)?.content} in Paris`
          : { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      );
      const tools: OpenAI.ChatCompletionTool[] = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ];
      const ask: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };
      const first = await openaiFor(alice, 0, { [HEADER]: 'new' })
        .chat.completions.create({ model: 'gpt-4o', messages: [ask], tools, stream: true })
        .withResponse();
      const chunks = [];
      for await (const chunk of first.data) chunks.push(chunk);
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      const call = { id: deltas[0]?.id as string, name: deltas[0]?.function?.name as string };
      expect(call.name).toBe('get_weather');
      expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"city":"Paris"}');
      const id = first.response.headers.get('x-switchyard-conversation-id') as string;
      const waiting = messagesOf(await conversationOf(alice, id)).at(-1);
      expect(waiting).toMatchObject({ status: 'REQUIRES_ACTION', toolCalls: [{ id: call.id, name: 'get_weather' }] });

      const second = await openaiFor(alice, 1, { [HEADER]: id }).chat.completions.create({
        model: 'gpt-4o',
        tools,
        messages: [
          ask,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: call.id, type: 'function', function: { name: call.name, arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: 'tool', tool_call_id: call.id, content: 'sunny' },
        ],
      });
      expect(second.choices[0]?.message.content).toBe('It is sunny in Paris');
      expect(messagesOf(await conversationOf(alice, id)).map((m) => [m.role, m.status, m.content])).toEqual([
        ['USER', 'COMPLETE', 'Weather in Paris?'],
        ['ASSISTANT', 'COMPLETE', ''],
        ['ASSISTANT', 'COMPLETE', 'It is sunny in Paris'],
      ]);
    });

    it('a JSON schema response format is checked as GraphQL checks it before the stored reply is COMPLETE', async () => {
      const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
      const client = openaiFor(alice, 0, { [HEADER]: 'new' });
      const ask = {
        model: 'gpt-4o',
        messages: [{ role: 'user' as const, content: 'the answer?' }],
        response_format: { type: 'json_schema' as const, json_schema: { name: 'answer', schema } },
      };
      openai.setReply('{"answer":42}');
      const good = await client.chat.completions.create(ask).withResponse();
      expect(JSON.parse(good.data.choices[0]?.message.content ?? '')).toEqual({ answer: 42 });
      const goodId = good.response.headers.get('x-switchyard-message-id') as string;
      expect(await cluster.db.message.findUnique({ where: { id: dbId(goodId) } })).toMatchObject({
        status: 'COMPLETE',
      });

      openai.setReply('{"answer":"many"}');
      const bad = await client.chat.completions.create(ask).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.APIError);
      expect((bad as Error).message).toContain('INVALID_OUTPUT');
      const badId = (bad as InstanceType<typeof OpenAI.APIError>).headers?.get('x-switchyard-message-id') as string;
      expect(await cluster.db.message.findUnique({ where: { id: dbId(badId) } })).toMatchObject({
        status: 'FAILED',
        errorCode: 'INVALID_OUTPUT',
        content: '{"answer":"many"}',
      });
    });

    it('messageStream over graphql-ws follows a streaming REST-stored message to its terminal event', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      openai.setReply('alpha beta gamma delta epsilon zeta eta theta');
      openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i >= 3 ? held : undefined) });
      const ws = signedInClient(`${cluster.pick(1).origin}/graphql`, `Bearer ${alice.secret}`);
      try {
        const { data: stream, response } = await openaiFor(alice, 0, { [HEADER]: 'new' })
          .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true })
          .withResponse();
        const messageId = response.headers.get('x-switchyard-message-id') as string;
        const reading = (async () => {
          let text = '';
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
          return text;
        })();
        const followed = collect<StreamEventResult>(
          ws,
          `subscription($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`,
          { id: messageId },
          'messageStream',
        );
        // Attached while the upstream is held: the deltas so far replay, the rest follow live.
        await followed.waitFor(1);
        expect(followed.events[0]?.__typename).toBe('MessageDelta');
        release();
        const events = shape(await followed.done);
        expect(events.terminal).toEqual(['MessageCompleted']);
        expect(events.seqs).toEqual(events.seqs.map((_, i) => i + 1));
        const text = await reading;
        expect(text).toBe('alpha beta gamma delta epsilon zeta eta theta');
        expect(events.text).toBe(text);
        expect(followed.events.at(-1)?.message).toMatchObject({ id: messageId, status: 'COMPLETE', content: text });
      } finally {
        release();
        await ws.dispose();
      }
    });

    it('a client that goes away mid-stream leaves the stored message CANCELLED with its partial text', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      openai.setReply('one two three four five six');
      openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i >= 3 ? held : undefined) });
      try {
        const controller = new AbortController();
        const { data: stream, response } = await openaiFor(alice, 0, { [HEADER]: 'new' })
          .chat.completions.create(
            { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a long reply please' }], stream: true },
            { signal: controller.signal },
          )
          .withResponse();
        const upstream = openai.lastRequest('/v1/chat/completions');
        const messageId = dbId(response.headers.get('x-switchyard-message-id') as string);
        let text = '';
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          if (text !== '') controller.abort();
        }
        expect(text).not.toBe('');
        expect(upstream && (await openai.settled(upstream))).toBe('aborted');
        await expectCancelledAfter(messageId, text);
      } finally {
        release();
      }
    });

    /** The stored message ends CANCELLED, its text starting with what the client had received. */
    async function expectCancelledAfter(messageId: string, received: string) {
      const message = await eventually(
        () => cluster.db.message.findUnique({ where: { id: messageId } }),
        (m) => m !== null && m.status !== 'STREAMING',
        { what: 'the stored message to end' },
      );
      expect(message).toMatchObject({ status: 'CANCELLED', errorCode: 'CANCELLED' });
      expect(message?.content.startsWith(received)).toBe(true);
    }

    /** A new stored call through the Anthropic client, left as soon as some text arrived. */
    async function leaveAfterFirstText() {
      const controller = new AbortController();
      const { data: stream, response } = await anthropicFor(alice)
        .messages.create(
          { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'go on' }], stream: true },
          { headers: { [HEADER]: 'new' }, signal: controller.signal },
        )
        .withResponse();
      const messageId = dbId(response.headers.get('x-switchyard-message-id') as string);
      let text = '';
      try {
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
          if (text !== '') controller.abort();
        }
      } catch (error) {
        expect(error).toBeInstanceOf(Anthropic.APIUserAbortError);
      }
      expect(text).not.toBe('');
      return { messageId, text };
    }

    // On Postgres another session can hold the rows back: the tokens flow while they wait.
    it.skipIf(!backend.shared)(
      'a client gone before its turn rows are written still cancels the generation',
      async () => {
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => (release = resolve));
        anthropic.setReply('one two three four five six');
        anthropic.faults.next({ path: '/v1/messages', gate: (i) => (i >= 4 ? held : undefined) });
        // Inserts into conversations wait until the hold is released.
        const hold = await holdInserts(cluster.databaseUrl as string, 'conversations');
        try {
          const { messageId, text } = await leaveAfterFirstText();
          // Nothing is stored yet, and the upstream is held: only a cancel by this process ends it.
          expect(await cluster.db.message.count({ where: { id: messageId } })).toBe(0);
          await hold.release();
          await expectCancelledAfter(messageId, text);
        } finally {
          release();
          await hold.release().catch(() => {});
        }
      },
    );

    it('the Anthropic client going away mid-stream leaves the stored message CANCELLED too', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      anthropic.setReply('one two three four five six');
      anthropic.faults.next({ path: '/v1/messages', gate: (i) => (i >= 4 ? held : undefined) });
      try {
        const { messageId, text } = await leaveAfterFirstText();
        await expectCancelledAfter(messageId, text);
      } finally {
        release();
      }
    });
  });
}
