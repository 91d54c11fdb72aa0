import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../../src/db/default-user.js';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { signedInClient } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { collect } from '../helpers/subscribe.js';
import {
  BACKENDS,
  codeOf,
  type Member,
  ok,
  startUsageServer,
  type UsageRow,
  type UsageServer,
} from './usage-server.js';

/**
 * `usage`, `budget` and `Message.costUsd` through the real server, after real chats: the mock
 * provider (free), OpenAI's gpt-4o-mini through the OpenAI fake (priced by the shipped table at
 * $0.15 in and $0.60 out per million tokens) and a gpt-* model the table does not know (no price).
 */

const PRICED = 'gpt-4o-mini';
const UNPRICED = 'gpt-unpriced-test';
/** gpt-4o-mini in nano-dollars per token: $0.15 and $0.60 per million. */
const NANOS_PER_TOKEN = { input: 150, output: 600 };

const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { conversation { id } assistantMessage { id } }
}`;
const MESSAGE = `query($id: ID!) { message(id: $id) { status } }`;
const MESSAGES = `{ conversations(first: 10) { edges { node { id messages(first: 4) { edges { node {
  id role provider model costUsd createdAt usage { promptTokens completionTokens }
} } } } } } }`;
const USAGE = `query($from: DateTime!, $to: DateTime!, $groupBy: [UsageGroup!]) {
  usage(from: $from, to: $to, groupBy: $groupBy) {
    day model provider apiKey { id } user { id } requests promptTokens completionTokens costUsd
  }
}`;
const CHAT = `subscription($input: SendMessageInput!) { chat(input: $input) {
  __typename ... on MessageCompleted { message { id costUsd conversation { id } usage { promptTokens completionTokens } } }
} }`;
const BUDGET = '{ budget { dailyLimitUsd dailySpentUsd monthlyLimitUsd monthlySpentUsd } }';

interface MessageRow {
  id: string;
  role: string;
  provider: string | null;
  model: string | null;
  costUsd: number | null;
  createdAt: string;
  usage: { promptTokens: number; completionTokens: number } | null;
}
interface Conversations {
  conversations: { edges: { node: { id: string; messages: { edges: { node: MessageRow }[] } } }[] };
}
type Group = 'DAY' | 'MODEL' | 'PROVIDER' | 'API_KEY' | 'USER';

/** One generation as its message shows it, with the key and user it was made with. */
interface Generation {
  day: string;
  model: string;
  provider: string;
  apiKey: string | null;
  user: string;
  promptTokens: number;
  completionTokens: number;
  costNanos: number | null;
}

const GROUPINGS: Group[][] = [
  [],
  ['DAY'],
  ['MODEL'],
  ['PROVIDER'],
  ['API_KEY'],
  ['USER'],
  ['MODEL', 'API_KEY'],
  ['USER', 'DAY', 'PROVIDER'],
  ['DAY', 'MODEL', 'PROVIDER', 'API_KEY', 'USER'],
  ['MODEL', 'MODEL'],
];

const nanos = (usd: number | null) => (usd === null ? null : Math.round(usd * 1e9));

/** A row as compared: cost in whole nano-dollars, so sums are exact. */
function comparable(row: UsageRow) {
  return { ...row, costUsd: nanos(row.costUsd) };
}

/** What `usage` must answer for these generations: the same sums, computed here from the messages. */
function expectedRows(generations: Generation[], groupBy: Group[]) {
  const rows = new Map<string, ReturnType<typeof comparable>>();
  for (const g of generations) {
    const key = {
      day: groupBy.includes('DAY') ? g.day : null,
      model: groupBy.includes('MODEL') ? g.model : null,
      provider: groupBy.includes('PROVIDER') ? g.provider : null,
      apiKey: groupBy.includes('API_KEY') && g.apiKey ? { id: g.apiKey } : null,
      user: groupBy.includes('USER') ? { id: g.user } : null,
    };
    const id = JSON.stringify(key);
    const row = rows.get(id) ?? { ...key, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
    row.requests += 1;
    row.promptTokens += g.promptTokens;
    row.completionTokens += g.completionTokens;
    row.costUsd = row.costUsd === null || g.costNanos === null ? null : row.costUsd + g.costNanos;
    rows.set(id, row);
  }
  if (groupBy.length === 0 && rows.size === 0) {
    return [
      {
        day: null,
        model: null,
        provider: null,
        apiKey: null,
        user: null,
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: 0,
      },
    ];
  }
  return sorted([...rows.values()]);
}

const sorted = <T>(rows: T[]) => rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`usage, budget and costUsd on ${backend.name}`, () => {
    let openai: FakeServer;
    let usage: UsageServer;
    let alice: Member;
    let aliceSecond: Member;
    let bob: Member;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = () => new Date(Date.now() + 3_600_000).toISOString();
    /** Which key made each conversation (null: the admin key, which is no stored key). */
    const keyOfConversation = new Map<string, string | null>();

    async function chat(secret: string | null, keyId: string | null, model: string, content: string) {
      const as = secret === null ? usage.admin : usage.as(secret);
      const sent = ok(
        await as<{ sendMessage: { conversation: { id: string }; assistantMessage: { id: string } } }>(SEND, {
          input: { content, model },
        }),
      ).sendMessage;
      keyOfConversation.set(sent.conversation.id, keyId);
      await eventually(
        async () =>
          ok(await as<{ message: { status: string } }>(MESSAGE, { id: sent.assistantMessage.id })).message.status,
        (status) => status !== 'STREAMING',
        { what: `${model} reply to end` },
      );
    }

    interface Completed {
      __typename: string;
      message?: { id: string; costUsd: number | null; conversation: { id: string }; usage: MessageRow['usage'] };
    }
    /** A chat over graphql-ws: its terminal event carries the message row as the generation wrote it. */
    async function chatOverSocket(member: Member, model: string, content: string) {
      const client = signedInClient(usage.server.url, `Bearer ${member.secret}`);
      try {
        const events = await collect<Completed>(client, CHAT, { input: { content, model } }, 'chat').done;
        const completed = events.at(-1)?.message;
        if (!completed) throw new Error(`the chat ended with ${JSON.stringify(events.at(-1))}`);
        keyOfConversation.set(completed.conversation.id, member.keyId);
        return completed;
      } finally {
        await client.dispose();
      }
    }
    let streamed: Completed['message'];

    /** The generations a viewer's messages show (assistant messages with usage). */
    async function generationsOf(
      as: UsageServer['admin'],
      userId: string,
    ): Promise<(Generation & { message: MessageRow })[]> {
      const { conversations } = ok(await as<Conversations>(MESSAGES));
      return conversations.edges.flatMap(({ node: conversation }) =>
        conversation.messages.edges
          .map((edge) => edge.node)
          .filter((message) => message.role === 'ASSISTANT' && message.usage !== null)
          .map((message) => ({
            message,
            day: message.createdAt.slice(0, 10),
            model: message.model as string,
            provider: message.provider as string,
            apiKey: keyOfConversation.get(conversation.id) ?? null,
            user: userId,
            promptTokens: message.usage?.promptTokens ?? 0,
            completionTokens: message.usage?.completionTokens ?? 0,
            costNanos: nanos(message.costUsd),
          })),
      );
    }

    const report = async (as: UsageServer['admin'], groupBy: Group[] | null, range = { from, to: to() }) =>
      ok(await as<{ usage: UsageRow[] }>(USAGE, { ...range, groupBy })).usage;

    beforeAll(async () => {
      openai = await startOpenAIFake();
      openai.setReply((input) => `The answer to "${input.messages.at(-1)?.content}" is forty-two, said plainly.`);
      usage = await startUsageServer(backend, {
        env: {
          OPENAI_API_KEY: 'sk-test',
          OPENAI_BASE_URL: openai.baseURL,
          OLLAMA_HOST: undefined,
          MOCK_TOKEN_DELAY_MS: '0',
        },
      });
      alice = await usage.userWithKey('alice');
      aliceSecond = await usage.keyOf(alice.userId, 'second');
      bob = await usage.userWithKey('bob', {}, { limits: { dailyBudgetUsd: 1, monthlyBudgetUsd: 10 } });
      await Promise.all([
        chat(alice.secret, alice.keyId, 'mock', 'one'),
        chat(alice.secret, alice.keyId, 'mock', 'two words'),
        chat(alice.secret, alice.keyId, PRICED, 'three little words'),
        chat(alice.secret, alice.keyId, UNPRICED, 'priceless'),
        chatOverSocket(aliceSecond, PRICED, 'from the second key').then((message) => {
          streamed = message;
        }),
        chat(bob.secret, bob.keyId, 'mock', 'bob here'),
        chat(bob.secret, bob.keyId, PRICED, 'bob asks the priced model'),
        chat(bob.secret, bob.keyId, PRICED, 'and again, a little longer this time'),
        chat(null, null, 'mock', 'the operator'),
      ]);
    });
    afterAll(async () => {
      await usage?.close();
      await openai?.close();
    });

    it('costs each message its tokens at the table price: gpt-4o-mini $0.15/$0.60 per million, mock 0, unknown null', async () => {
      const generations = await generationsOf(usage.as(alice.secret), alice.userId);
      const byModel = (model: string) => generations.filter((g) => g.model === model).map((g) => g.message);
      const priced = [
        ...byModel(PRICED),
        ...(await generationsOf(usage.as(bob.secret), bob.userId))
          .map((g) => g.message)
          .filter((m) => m.model === PRICED),
      ];
      expect(priced).toHaveLength(4);
      for (const message of priced) {
        const { promptTokens, completionTokens } = message.usage ?? { promptTokens: 0, completionTokens: 0 };
        expect(promptTokens).toBeGreaterThan(0);
        expect(completionTokens).toBeGreaterThan(0);
        expect(message.provider).toBe('openai');
        expect(nanos(message.costUsd)).toBe(
          promptTokens * NANOS_PER_TOKEN.input + completionTokens * NANOS_PER_TOKEN.output,
        );
      }
      const mock = generations.filter((g) => g.provider === 'mock').map((g) => g.message);
      expect(mock).toHaveLength(2);
      for (const message of mock) {
        expect(message.usage?.completionTokens).toBeGreaterThan(0);
        expect(message.costUsd).toBe(0);
      }
      expect(byModel(UNPRICED).map((m) => [m.provider, m.costUsd])).toEqual([['openai', null]]);
      // The stream's last event shows the cost as the generation's end wrote it, the same as stored.
      const stored = priced.find((message) => message.id === streamed?.id);
      expect(stored?.costUsd).toEqual(expect.any(Number));
      expect(streamed).toMatchObject({ costUsd: stored?.costUsd, usage: stored?.usage });
      // The user's own message costs nothing it could know: null.
      const { conversations } = ok(await usage.as(alice.secret)<Conversations>(MESSAGES));
      const userMessages = conversations.edges
        .flatMap((c) => c.node.messages.edges.map((e) => e.node))
        .filter((m) => m.role === 'USER');
      expect(userMessages.map((m) => m.costUsd)).toEqual(userMessages.map(() => null));
    });

    it("answers a non-admin viewer with its user's usage (all of its keys) summed as its messages sum, for every grouping", async () => {
      const operator = encodeGlobalId('User', DEFAULT_USER_ID);
      for (const [member, others] of [
        [alice, [bob.userId, operator]],
        [bob, [alice.userId, operator]],
      ] as const) {
        const generations = await generationsOf(usage.as(member.secret), member.userId);
        expect(generations.length).toBeGreaterThanOrEqual(3);
        for (const groupBy of GROUPINGS) {
          const rows = await report(usage.as(member.secret), groupBy);
          expect({ groupBy, rows: sorted(rows.map(comparable)) }).toEqual({
            groupBy,
            rows: expectedRows(generations, groupBy),
          });
        }
        // Never another user's rows, by user or by key.
        const users = (await report(usage.as(member.secret), ['USER'])).map((row) => row.user?.id);
        expect(users).toEqual([member.userId]);
        for (const other of others) expect(users).not.toContain(other);
      }
      // Alice's second key sees the same: the user's usage, both keys.
      const keys = (await report(usage.as(aliceSecond.secret), ['API_KEY'])).map((row) => row.apiKey?.id).sort();
      expect(keys).toEqual([alice.keyId, aliceSecond.keyId].sort());
    });

    it('answers ADMIN with everyone: both users, the operator, and usage made without a stored key', async () => {
      const generations = [
        ...(await generationsOf(usage.as(alice.secret), alice.userId)),
        ...(await generationsOf(usage.as(bob.secret), bob.userId)),
        ...(await generationsOf(usage.admin, encodeGlobalId('User', DEFAULT_USER_ID))),
      ];
      expect(generations).toHaveLength(9);
      for (const groupBy of GROUPINGS) {
        const rows = await report(usage.admin, groupBy);
        expect({ groupBy, rows: sorted(rows.map(comparable)) }).toEqual({
          groupBy,
          rows: expectedRows(generations, groupBy),
        });
      }
      const byKey = await report(usage.admin, ['API_KEY']);
      expect(byKey.find((row) => row.apiKey === null)).toMatchObject({ requests: 1, costUsd: 0 });
    });

    it('gives a row no cost when an event in it has no known price, and 0 for free models', async () => {
      const byModel = await report(usage.as(alice.secret), ['MODEL']);
      expect(byModel.map((row) => [row.model, row.costUsd === null ? null : row.costUsd > 0])).toEqual([
        [PRICED, true],
        [UNPRICED, null],
        [expect.stringMatching(/^mock/), false],
      ]);
      expect((await report(usage.as(alice.secret), null))[0]?.costUsd).toBeNull();
      expect((await report(usage.as(bob.secret), []))[0]?.costUsd).toBeGreaterThan(0);
    });

    it('checks the range and who asks: to after from, at most 400 days, CHAT or ADMIN; an empty range sums to zero', async () => {
      const as = usage.as(alice.secret);
      const now = Date.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const backwards = await as(USAGE, { from: iso(now), to: iso(now - 1) });
      expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
      expect(codeOf(await as(USAGE, { from: iso(now), to: iso(now) }))).toBe('BAD_USER_INPUT');
      const long = await as(USAGE, { from: iso(now - 401 * 86_400_000), to: iso(now) });
      expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxDays: 400 });
      expect(ok(await as(USAGE, { from: iso(now - 400 * 86_400_000), to: iso(now) }))).toBeTruthy();
      const tooMany = await as(USAGE, { from, to: to(), groupBy: Array.from({ length: 17 }, () => 'DAY') });
      expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');

      const lastYear = { from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' };
      expect(await report(as, null, lastYear)).toEqual([
        {
          day: null,
          model: null,
          provider: null,
          apiKey: null,
          user: null,
          requests: 0,
          promptTokens: 0,
          completionTokens: 0,
          costUsd: 0,
        },
      ]);
      expect(await report(as, ['DAY'], lastYear)).toEqual([]);

      const documentsOnly = await usage.keyOf(alice.userId, 'documents only', { scopes: ['DOCUMENTS'] });
      const refused = await usage.as(documentsOnly.secret)(USAGE, { from, to: to() });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    });

    it('refuses more than 10,000 rows and sums over 32 bits rather than answer them cut or wrong', async () => {
      const prisma = usage.server.app.database.prisma;
      const { createUser } = ok(
        await usage.admin<{ createUser: { id: string } }>('mutation { createUser(input: { name: "heavy" }) { id } }'),
      );
      const [heavy] = await prisma.$queryRaw<{ id: string }[]>`SELECT "id"::text FROM "users" WHERE "name" = 'heavy'`;
      // 10,001 models in one day of 2020, and two huge events on a day of 2021.
      await prisma.$executeRaw`
        INSERT INTO "usage_events" ("id", "user_id", "provider", "model", "prompt_tokens", "completion_tokens", "cost_usd", "created_at")
        SELECT gen_random_uuid(), ${heavy?.id}::uuid, 'mock', 'model-' || n, 1, 1, 0, '2020-01-01T12:00:00Z'::timestamptz
        FROM generate_series(1, 10001) AS n`;
      await prisma.$executeRaw`
        INSERT INTO "usage_events" ("id", "user_id", "provider", "model", "prompt_tokens", "completion_tokens", "cost_usd", "created_at")
        SELECT gen_random_uuid(), ${heavy?.id}::uuid, 'mock', 'mock', 2000000000, 1, 0, '2021-01-01T12:00:00Z'::timestamptz
        FROM generate_series(1, 2)`;
      const day2020 = { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' };
      const many = await usage.admin(USAGE, { ...day2020, groupBy: ['MODEL'] });
      expect(many.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxRows: 10_000 });
      expect(await report(usage.admin, ['DAY', 'USER'], day2020)).toEqual([
        expect.objectContaining({
          day: '2020-01-01',
          user: { id: createUser.id },
          requests: 10_001,
          promptTokens: 10_001,
        }),
      ]);
      const huge = await usage.admin(USAGE, { from: '2021-01-01T00:00:00Z', to: '2021-01-02T00:00:00Z' });
      expect(codeOf(huge)).toBe('BAD_USER_INPUT');
    });

    it('reports a budgeted key its limits and what it spent today and this month; a key without a budget has no limits', async () => {
      const spent = (await generationsOf(usage.as(bob.secret), bob.userId)).reduce(
        (sum, g) => sum + (g.costNanos ?? 0),
        0,
      );
      expect(spent).toBeGreaterThan(0);
      const budget = await eventually(
        async () => ok(await usage.as(bob.secret)<{ budget: Record<string, number | null> }>(BUDGET)).budget,
        (status) => nanos(status.dailySpentUsd as number) === spent,
        { what: "bob's budget to show his spend" },
      );
      expect({
        ...budget,
        dailySpentUsd: nanos(budget.dailySpentUsd as number),
        monthlySpentUsd: nanos(budget.monthlySpentUsd as number),
      }).toEqual({
        dailyLimitUsd: 1,
        dailySpentUsd: spent,
        monthlyLimitUsd: 10,
        monthlySpentUsd: spent,
      });
      const unbudgeted = ok(await usage.as(alice.secret)<{ budget: Record<string, number | null> }>(BUDGET)).budget;
      expect(unbudgeted).toMatchObject({ dailyLimitUsd: null, monthlyLimitUsd: null });
    });
  });
}
