/**
 * The privacy modes end to end (issue #18 item 4): through real servers with graphql-ws, the
 * official openai and @anthropic-ai/sdk clients, the OpenAI fake as the only upstream, and a real
 * database. The config file's default is `logs`; keys and users are made stricter by the admin.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeGlobalId, parseGlobalId } from '../../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
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
import { collect } from '../helpers/subscribe.js';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const SET_MODE = `mutation($key: ID, $user: ID, $mode: PiiMode) { setPiiMode(apiKeyId: $key, userId: $user, mode: $mode) }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) {
  __typename
  ... on MessageDelta { text }
  ... on MessageCompleted { message { id status content } }
  ... on MessageFailed { code error message { id status content } } } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const INGEST = `mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }`;

interface ChatEvent {
  __typename: string;
  text?: string;
  code?: string;
  error?: string;
  message?: { id: string; status: string; content: string };
}

interface UpstreamBody {
  messages: { role: string; content: unknown }[];
}

const keyId = (member: Member) => encodeGlobalId('ApiKey', member.keyId);
/** Everything the fake was sent in chat requests since `from`, as one text. */
const sentSince = (fake: FakeServer, from: number) =>
  JSON.stringify(
    fake.requests
      .slice(from)
      .filter((r) => r.path === '/v1/chat/completions')
      .map((r) => (r.body as UpstreamBody).messages),
  );

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`personal data in prompts: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;
    /** Key mode MASK (stricter than the config's logs). */
    let masked: Member;
    /** Key mode BLOCK, made so by createApiKey. */
    let blocked: Member;
    /** No mode of its own: the config file's logs applies. */
    let plain: Member;
    let turn = 0;

    beforeAll(async () => {
      openai = await startOpenAIFake();
      cluster = await startLimitsCluster(backend, {
        env: fakeProviderEnv({ openai }),
        config: { pii: { mode: 'logs' }, chat: { deltaWindowMs: 0 } },
      });
      masked = await cluster.member('pii-mask');
      ok(await cluster.admin(SET_MODE, { key: keyId(masked), mode: 'MASK' }));
      const blockUser = await cluster.user('pii-block');
      const created = ok(
        await cluster.admin<{ createApiKey: { secret: string; apiKey: { id: string; piiMode: string } } }>(
          `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id piiMode } } }`,
          { input: { userId: encodeGlobalId('User', blockUser), name: 'blocked', piiMode: 'BLOCK' } },
        ),
      ).createApiKey;
      expect(created.apiKey.piiMode).toBe('BLOCK');
      blocked = { userId: blockUser, keyId: parseGlobalId(created.apiKey.id, 'ApiKey'), secret: created.secret };
      plain = await cluster.member('pii-plain');
    });
    afterAll(async () => {
      await cluster?.close();
      await openai?.close();
    });
    afterEach(() => {
      openai.setReply(undefined);
      openai.faults.clear();
    });

    const openaiSdk = (secret: string) =>
      new OpenAI({ apiKey: secret, baseURL: `${cluster.pick(turn++).origin}/v1`, maxRetries: 0 });
    const anthropicSdk = (secret: string) =>
      new Anthropic({ apiKey: secret, baseURL: cluster.pick(turn++).origin, maxRetries: 0 });
    const graphqlChat = async (secret: string, input: Record<string, unknown>) => {
      const client = createClient({
        url: cluster.pick(turn++).wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${secret}` },
      });
      try {
        return await collect<ChatEvent>(client, CHAT, { input: { model: 'gpt-4o-mini', ...input } }, 'chat').done;
      } finally {
        await client.dispose();
      }
    };

    it('mask over graphql-ws: the provider gets placeholders, the client and the stored message the values', async () => {
      // The placeholder reaches the gateway split across two upstream chunks.
      openai.setReply(['Sent to ', '[EMAI', 'L_1]', ' for card [CARD_1', '].']);
      const from = openai.requests.length;
      const events = await graphqlChat(masked.secret, { content: `Email ${EMAIL} about card ${CARD}` });
      const upstream = sentSince(openai, from);
      expect(upstream).toContain('Email [EMAIL_1] about card [CARD_1]');
      expect(upstream).not.toContain(EMAIL);
      expect(upstream).not.toContain('4111');
      const expected = `Sent to ${EMAIL} for card ${CARD}.`;
      expect(
        events
          .filter((e) => e.__typename === 'MessageDelta')
          .map((e) => e.text)
          .join(''),
      ).toBe(expected);
      const end = events.at(-1) as ChatEvent;
      expect(end).toMatchObject({ __typename: 'MessageCompleted', message: { status: 'COMPLETE', content: expected } });
      const stored = await cluster.db.message.findUniqueOrThrow({
        where: { id: parseGlobalId(end.message?.id as string, 'Message') },
      });
      expect(stored.content).toBe(expected);
      // Usage rows hold figures, never text.
      const usage = await cluster.db.$queryRaw<{ row: string }[]>`
        SELECT row_to_json(u)::text AS row FROM usage_events u WHERE api_key_id = ${masked.keyId}::uuid`;
      expect(usage.length).toBeGreaterThan(0);
      expect(usage.map((u) => u.row).join('')).not.toMatch(/@|4111/);
    });

    it('mask over the openai SDK, streamed and not: text and tool-call arguments come back restored', async () => {
      openai.setReply(['Mail ', '[EMAIL', '_1] now']);
      const from = openai.requests.length;
      const stream = await openaiSdk(masked.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [
          { role: 'system', content: `The customer is ${EMAIL}` },
          { role: 'user', content: `Write to ${EMAIL}` },
        ],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(`Mail ${EMAIL} now`);
      expect(sentSince(openai, from)).toContain('The customer is [EMAIL_1]');
      expect(sentSince(openai, from)).not.toContain(EMAIL);

      openai.setReply({ toolCalls: [{ name: 'send_mail', arguments: { to: '[EMAIL_1]' } }] });
      const completion = await openaiSdk(masked.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Send it to ${EMAIL}` }],
        tools: [{ type: 'function', function: { name: 'send_mail', parameters: { type: 'object' } } }],
      });
      const call = completion.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ to: EMAIL });
    });

    it('mask over the Anthropic SDK, streamed: events carry the restored text', async () => {
      openai.setReply(['Hi [', 'EMAIL_1', ']!']);
      const from = openai.requests.length;
      const stream = anthropicSdk(masked.secret).messages.stream({
        model: 'gpt-4o-mini',
        max_tokens: 50,
        messages: [{ role: 'user', content: `Greet ${EMAIL}` }],
      });
      let text = '';
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
      expect(text).toBe(`Hi ${EMAIL}!`);
      expect(sentSince(openai, from)).not.toContain(EMAIL);
    });

    it('mask: a placeholder typed by the caller, or one from another request, is never restored', async () => {
      openai.setReply('[EMAIL_1] [EMAIL_2]');
      const typed = await openaiSdk(masked.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Is [EMAIL_1] the same as bob@example.org?` }],
      });
      expect(typed.choices[0]?.message.content).toBe('[EMAIL_1] bob@example.org');
      // A later request with no personal data: the earlier request's vault is gone.
      const later = await openaiSdk(masked.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say the placeholders' }],
      });
      expect(later.choices[0]?.message.content).toBe('[EMAIL_1] [EMAIL_2]');
    });

    it('block: refused with PII_DETECTED naming the kinds, nothing stored, admitted or sent', async () => {
      const from = openai.requests.length;
      const graphql = await post(cluster.pick(turn++), blocked.secret, SEND, {
        input: { model: 'gpt-4o-mini', content: `card ${CARD}, mail ${EMAIL}` },
      });
      expect(graphql.errors?.[0]?.extensions).toMatchObject({ code: 'PII_DETECTED', kinds: ['CARD', 'EMAIL'] });
      expect(graphql.errors?.[0]?.message).not.toContain(EMAIL);
      const events = graphqlChat(blocked.secret, { content: `ssn 123-45-6789` });
      await expect(events).rejects.toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'PII_DETECTED' }) }),
      ]);

      const rest = await openaiSdk(blocked.secret)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `mail ${EMAIL}` }] })
        .catch((error: unknown) => error);
      expect(rest).toMatchObject({ status: 400, code: 'pii_detected' });
      const anthropic = await anthropicSdk(blocked.secret)
        .messages.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: EMAIL }] })
        .catch((error: unknown) => error);
      expect(anthropic).toMatchObject({ status: 400 });
      expect(String((anthropic as Error).message)).toContain('PII_DETECTED');

      expect(openai.requests.length).toBe(from);
      expect(await cluster.db.message.count({ where: { userId: blocked.userId } })).toBe(0);
      expect(await cluster.db.conversation.count({ where: { userId: blocked.userId } })).toBe(0);
      expect(await cluster.db.usageEvent.count({ where: { apiKeyId: blocked.keyId } })).toBe(0);
      // A prompt without personal data goes through.
      openai.setReply('fine');
      const clean = await openaiSdk(blocked.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hello' }],
      });
      expect(clean.choices[0]?.message.content).toBe('fine');
    });

    it('tool definitions, the reply schema and stop sequences are masked and blocked like the messages', async () => {
      const tools = [
        {
          type: 'function' as const,
          function: {
            name: 'charge',
            description: `Charge card ${CARD}`,
            parameters: { type: 'object', properties: { to: { type: 'string', enum: [EMAIL] } } },
          },
        },
      ];
      const responseFormat = {
        type: 'json_schema' as const,
        json_schema: { name: 'r', schema: { type: 'object', properties: { to: { const: EMAIL } } } },
      };
      const request = {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: 'Go' }],
        tools,
        response_format: responseFormat,
        stop: ['END 123-45-6789'],
      };
      openai.setReply('{"to":"[EMAIL_1]"}');
      const from = openai.requests.length;
      const reply = await openaiSdk(masked.secret).chat.completions.create(request);
      const sent = JSON.stringify(openai.requests.slice(from).map((r) => r.body));
      expect(sent).not.toContain(EMAIL);
      expect(sent).not.toContain('4111');
      expect(sent).toContain('Charge card [CARD_1]');
      expect(sent).not.toContain('123-45-6789');
      expect(sent).toContain('"stop":["END [SSN_1]"]');
      expect(reply.choices[0]?.message.content).toBe(`{"to":"${EMAIL}"}`);

      const before = openai.requests.length;
      const refused = await openaiSdk(blocked.secret)
        .chat.completions.create(request)
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 400, code: 'pii_detected' });
      const graphql = await post(cluster.pick(turn++), blocked.secret, SEND, {
        input: {
          model: 'gpt-4o-mini',
          content: 'Go',
          tools: [{ name: 'charge', description: `Charge card ${CARD}`, parameters: { type: 'object' } }],
        },
      });
      expect(graphql.errors?.[0]?.extensions).toMatchObject({ code: 'PII_DETECTED', kinds: ['CARD'] });
      expect(openai.requests.length).toBe(before);
      expect(await cluster.db.message.count({ where: { userId: blocked.userId } })).toBe(0);
    });

    it('logs (the config default): the prompt reaches the provider as written', async () => {
      openai.setReply('ok');
      const from = openai.requests.length;
      await openaiSdk(plain.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `mail ${EMAIL}` }],
      });
      expect(sentSince(openai, from)).toContain(`mail ${EMAIL}`);
    });

    it("a user's mode binds its keys, and a change applies on every instance at once", async () => {
      const member = await cluster.member('pii-user-mode');
      openai.setReply('ok');
      const ask = (i: number) =>
        new OpenAI({ apiKey: member.secret, baseURL: `${cluster.pick(i).origin}/v1`, maxRetries: 0 }).chat.completions
          .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `mail ${EMAIL}` }] })
          .then(
            () => 'sent',
            (error: { code?: string }) => error.code,
          );
      // Read (and cached) on every instance first.
      for (let i = 0; i < cluster.servers.length; i++) expect(await ask(i)).toBe('sent');
      ok(await cluster.admin(SET_MODE, { user: encodeGlobalId('User', member.userId), mode: 'BLOCK' }, 0));
      for (let i = 0; i < cluster.servers.length; i++) {
        await eventually(
          () => ask(i),
          (outcome) => outcome === 'pii_detected',
          { what: `instance ${i} blocks` },
        );
      }
      // The key's own looser mode does not loosen the user's.
      ok(await cluster.admin(SET_MODE, { key: keyId(member), mode: 'OFF' }));
      expect(await ask(0)).toBe('pii_detected');
    });

    it('only ADMIN sets a mode: another user, and the key itself, are refused; a value outside the enum is BAD_USER_INPUT', async () => {
      const other = await cluster.member('pii-other');
      for (const secret of [other.secret, masked.secret]) {
        const reply = await post(cluster.pick(0), secret, SET_MODE, { key: keyId(masked), mode: 'OFF' });
        expect(reply.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
      const bad = await cluster.admin(SET_MODE, { key: keyId(masked), mode: 'SHOUT' });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const lower = await cluster.admin(SET_MODE, { key: keyId(masked), mode: 'mask' });
      expect(lower.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const stored = await cluster.db.apiKey.findUniqueOrThrow({ where: { id: masked.keyId } });
      expect(stored.piiMode).toBe('mask');
      const shown = ok(
        await post<{ viewer: { apiKey: { piiMode: string } } }>(
          cluster.pick(0),
          masked.secret,
          '{ viewer { apiKey { piiMode } } }',
        ),
      );
      expect(shown.viewer.apiKey.piiMode).toBe('MASK');
    });

    it("a key made by a MASK key stays bound by its maker's mode", async () => {
      const made = ok(
        await post<{ createApiKey: { secret: string } }>(
          cluster.pick(0),
          masked.secret,
          `mutation { createApiKey(input: { name: "child", piiMode: OFF }) { secret } }`,
        ),
      ).createApiKey;
      openai.setReply('ok');
      const from = openai.requests.length;
      await openaiSdk(made.secret).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `mail ${EMAIL}` }],
      });
      expect(sentSince(openai, from)).toContain('mail [EMAIL_1]');
    });

    it('retrieved chunks: grounded and SEARCH_DOCUMENTS prompts reach the provider masked; block refuses them', async () => {
      for (const member of [masked, blocked]) {
        const ingested = await post(cluster.pick(0), member.secret, INGEST, {
          input: { title: 'Contacts', content: `Support questions go to ${EMAIL}, the helpdesk lead.` },
        });
        expect(ingested.errors).toBeUndefined();
      }
      await eventually(
        () =>
          cluster.db.document.count({ where: { status: 'READY', userId: { in: [masked.userId, blocked.userId] } } }),
        (ready) => ready === 2,
        { what: 'both documents READY' },
      );

      openai.setReply('Ask [EMAIL_1].');
      let from = openai.requests.length;
      const grounded = await graphqlChat(masked.secret, {
        content: 'Who handles support questions?',
        useDocuments: true,
      });
      expect(sentSince(openai, from)).toContain('Support questions go to [EMAIL_1]');
      expect(sentSince(openai, from)).not.toContain(EMAIL);
      expect(grounded.at(-1)?.message?.content).toBe(`Ask ${EMAIL}.`);

      openai.setReply((input) =>
        input.messages.some((m) => m.role === 'tool')
          ? 'Write to [EMAIL_1].'
          : { toolCalls: [{ name: 'search_documents', arguments: { query: 'support questions helpdesk' } }] },
      );
      from = openai.requests.length;
      const searched = await graphqlChat(masked.secret, {
        content: 'Who handles support questions?',
        builtinTools: ['SEARCH_DOCUMENTS'],
      });
      const upstream = sentSince(openai, from);
      expect(upstream).toContain('Support questions go to [EMAIL_1]');
      expect(upstream).not.toContain(EMAIL);
      expect(searched.at(-1)?.message?.content).toBe(`Write to ${EMAIL}.`);

      // block: the grounded prompt is refused before anything is written; the tool's result ends the turn.
      from = openai.requests.length;
      const refused = await post(cluster.pick(0), blocked.secret, SEND, {
        input: { model: 'gpt-4o-mini', content: 'Who handles support questions?', useDocuments: true },
      });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'PII_DETECTED', kinds: ['EMAIL'] });
      expect(await cluster.db.message.count({ where: { userId: blocked.userId } })).toBe(0);
      const toolTurn = await graphqlChat(blocked.secret, {
        content: 'Who handles support questions?',
        builtinTools: ['SEARCH_DOCUMENTS'],
      });
      expect(toolTurn.at(-1)).toMatchObject({ __typename: 'MessageFailed', code: 'PII_DETECTED' });
      expect(sentSince(openai, from)).not.toContain(EMAIL);
    });
  });
}
