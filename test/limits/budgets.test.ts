/**
 * Budgets through the real server(s), priced by the shipped table (gpt-4o-mini on the OpenAI
 * fake): concurrent requests never overspend, the admitted count is what the reservations allow,
 * and every end (cancelled, client gone, cut by the provider) is charged its real usage on the
 * message, its usage event and the budget alike.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPriceBook } from '../../src/policy/prices/price-book.js';
import { parseGlobalId } from '../../src/schema/global-id.js';
import { countTokens } from '../../src/util/count-tokens.js';
import { readMessages } from '../fakes/fake-script.js';
import { type FakeServer, planReply, startOpenAIFake } from '../fakes/index.js';
import { signedInClient } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import {
  budgetOf,
  burst,
  type ChatEvent,
  endedMessages,
  nanos,
  openChat,
  send,
  tally,
  usageEventsOf,
} from '../helpers/limits-client.js';
import { LIMITS_BACKENDS, type LimitsCluster, post, startLimitsCluster } from '../helpers/limits-cluster.js';
import { collect } from '../helpers/subscribe.js';

const words = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
const MODEL = { kind: 'openai', model: 'gpt-4o-mini' };
const prices = createPriceBook();
const CANCEL = 'mutation($id: ID!) { cancelMessage(id: $id) { status } }';
const CHAT = `subscription($input: SendMessageInput!) { chat(input: $input) {
  __typename ... on MessageDelta { messageId seq text } } }`;
const messageGlobalId = (id: string) => Buffer.from(`Message:${id}`).toString('base64url');

/** A promise and the function that resolves it: a gate the fake waits at. */
function latch() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`budgets: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;

    beforeAll(async () => {
      // Every reply is long: a request's maxTokens decides how much of it streams.
      openai = await startOpenAIFake({ reply: words(600) });
      cluster = await startLimitsCluster(backend, {
        env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL },
      });
    });
    afterAll(async () => {
      await cluster?.close();
      await openai?.close();
    });
    afterEach(() => openai.faults.clear());

    const turn = (content: string, maxTokens: number) => ({ content, model: 'gpt-4o-mini', maxTokens });

    it('20 at once against a daily budget that fits five reservations: five admitted, 15 BUDGET_EXCEEDED, spend within the budget', async () => {
      const content = `budget burst ${randomUUID()}`;
      const maxTokens = 500;
      // The prompt as the gateway counts it, from one turn on a key without limits.
      const free = await cluster.member('calibration');
      const calibration = await send(cluster.pick(0), free.secret, turn(content, maxTokens));
      const [calibrated] = await endedMessages(cluster.db, [calibration.messageId as string]);
      const hold = prices.costNanos(MODEL, {
        promptTokens: calibrated?.contextTokens as number,
        completionTokens: maxTokens,
      }) as number;
      expect(hold).toBeGreaterThan(0);
      const budgetNanos = Math.floor(hold * 5.5);
      const key = await cluster.member('budgeted', { dailyBudgetUsd: budgetNanos / 1e9 });

      // The fake holds every stream before its first chunk until all 20 have been answered, so
      // no early end can free a reservation while the others are decided.
      const gate = latch();
      openai.faults.always({ path: '/v1/chat/completions', gate: () => gate.opened });
      const turns = await burst(20, (i) => send(cluster.pick(i), key.secret, turn(content, maxTokens)));
      gate.open();
      const { admitted, refused } = tally(turns);
      expect(admitted).toHaveLength(Math.floor(budgetNanos / hold));
      expect(admitted).toHaveLength(5);
      for (const refusal of refused) {
        expect(refusal.refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', limit: 'dailyBudgetUsd' });
        expect(refusal.refusal?.retryAfterMs).toBeGreaterThan(0);
      }
      expect(await cluster.db.message.count({ where: { userId: key.userId } })).toBe(10);

      const ids = admitted.map((t) => t.messageId as string);
      const rows = await endedMessages(cluster.db, ids);
      expect(rows.map((m) => [m.status, m.completionTokens])).toEqual(ids.map(() => ['COMPLETE', maxTokens]));
      const costs = rows.map((m) => nanos(m.costUsd));
      for (const cost of costs) expect(cost).toBeGreaterThan(0);
      for (const cost of costs) expect(cost).toBeLessThanOrEqual(hold);
      const spent = costs.reduce((sum, c) => sum + c, 0);
      expect(spent).toBeLessThanOrEqual(budgetNanos);
      const events = (await usageEventsOf(cluster.db, ids)).flat();
      expect(events.reduce((sum, e) => sum + nanos(e.costUsd), 0)).toBe(spent);
      await eventually(
        () => budgetOf(cluster.pick(1), key.secret),
        (b) => nanos(b.dailySpentUsd) === spent,
        { what: `dailySpentUsd to be ${spent / 1e9}` },
      );
      const budget = await budgetOf(cluster.pick(0), key.secret);
      expect(nanos(budget.dailyLimitUsd)).toBe(budgetNanos);
      expect(nanos(budget.monthlySpentUsd)).toBe(spent);
      // What is left no longer fits a reservation.
      const after = await send(cluster.pick(1), key.secret, turn(content, maxTokens));
      expect(after.refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', limit: 'dailyBudgetUsd' });
    });

    /** Checks one ended generation's charge: message, usage event and budget agree; returns the row. */
    async function expectCharged(secret: string, messageId: string, spentBefore: number, status: string) {
      const [row] = await endedMessages(cluster.db, [messageId]);
      if (!row) throw new Error('no row');
      expect(row.status).toBe(status);
      expect(row.promptTokens).not.toBeNull();
      expect(row.completionTokens).not.toBeNull();
      expect(row.costUsd).not.toBeNull();
      const usage = { promptTokens: row.promptTokens as number, completionTokens: row.completionTokens as number };
      const cost = nanos(row.costUsd);
      expect(cost).toBe(prices.costNanos(MODEL, usage));
      const [events] = await usageEventsOf(cluster.db, [messageId]);
      expect(events).toHaveLength(1);
      expect(events?.[0]).toMatchObject({ ...usage, status, model: 'gpt-4o-mini' });
      expect(nanos(events?.[0]?.costUsd ?? null)).toBe(cost);
      await eventually(
        () => budgetOf(cluster.pick(1), secret),
        (b) => nanos(b.dailySpentUsd) === spentBefore + cost,
        { what: `dailySpentUsd to grow by ${cost / 1e9}` },
      );
      return row;
    }

    it('a cancelled chat is charged the prompt and the text it streamed', async () => {
      const key = await cluster.member('canceller', { dailyBudgetUsd: 10 });
      const before = nanos((await budgetOf(cluster.pick(0), key.secret)).dailySpentUsd);
      // Five chunks (the role chunk and four words) go out; the rest waits for a release that never comes.
      const hold = latch();
      openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i < 5 ? undefined : hold.opened) });
      const chat = await openChat(cluster.pick(0), key.secret, turn(`cancel me ${randomUUID()}`, 200));
      expect(chat.refusal).toBeNull();
      const streamed = () => chat.events.map((e) => e.text ?? '').join('');
      while (streamed().split(' ').length < 4) {
        if (!(await chat.next())) throw new Error(`the chat ended after ${streamed()}`);
      }
      const id = chat.messageId();
      const cancelled = await post<{ cancelMessage: { status: string } }>(cluster.pick(1), key.secret, CANCEL, {
        id: messageGlobalId(id),
      });
      expect(cancelled.data?.cancelMessage.status).toBe('CANCELLED');
      expect(await chat.end()).toMatchObject({ __typename: 'MessageFailed', code: 'CANCELLED' });
      hold.open();
      const row = await expectCharged(key.secret, id, before, 'CANCELLED');
      expect(row.content).toBe(words(4));
      // The provider sent no usage before the cut: the gateway counted the prompt and the text.
      expect(row.promptTokens).toBe(row.contextTokens);
      expect(row.completionTokens).toBe(countTokens(row.content));
    });

    /** Starts a chat over `transport`, waits for its first event, and returns its message id and a way to leave. */
    async function startChat(transport: 'SSE' | 'graphql-ws', secret: string, input: ReturnType<typeof turn>) {
      if (transport === 'SSE') {
        const chat = await openChat(cluster.pick(1), secret, input);
        expect(chat.refusal).toBeNull();
        return { id: chat.messageId(), leave: async () => chat.disconnect() };
      }
      const client = signedInClient(cluster.pick(1).url, `Bearer ${secret}`);
      const chat = collect<ChatEvent>(client, CHAT, { input }, 'chat');
      chat.done.catch(() => {}); // ends with the socket
      const [first] = await chat.waitFor(1);
      return { id: parseGlobalId(first?.messageId as string, 'Message'), leave: () => client.dispose() };
    }

    for (const transport of ['SSE', 'graphql-ws'] as const) {
      it(`a chat whose ${transport} client disconnected mid-stream runs to its end and is charged the usage the provider reported`, async () => {
        const key = await cluster.member(`leaver over ${transport}`, { dailyBudgetUsd: 10 });
        const before = nanos((await budgetOf(cluster.pick(1), key.secret)).dailySpentUsd);
        const gone = latch();
        // Two words go out, then the rest (paced) once the client has gone.
        openai.faults.next({
          path: '/v1/chat/completions',
          gate: (i) => (i < 3 ? undefined : gone.opened),
          tokenDelayMs: 10,
        });
        const marker = `leave me ${randomUUID()}`;
        const chat = await startChat(transport, key.secret, turn(marker, 60));
        await chat.leave();
        gone.open();
        const row = await expectCharged(key.secret, chat.id, before, 'COMPLETE');
        // What the fake reported (usage chunk), not the gateway's count.
        const request = openai.requests.find((r) => JSON.stringify(r.body ?? null).includes(marker));
        const body = request?.body as { messages: unknown; max_completion_tokens: number };
        const reported = planReply(
          { model: 'gpt-4o-mini', messages: readMessages(body.messages), maxTokens: body.max_completion_tokens },
          words(600),
        );
        expect(row).toMatchObject({ promptTokens: reported.promptTokens, completionTokens: 60, content: words(60) });
        const [events] = await usageEventsOf(cluster.db, [chat.id]);
        expect(events?.[0]?.estimated).toBe(false);
      });
    }

    it('a chat cut by the provider mid-stream is charged the prompt and the text it got', async () => {
      const key = await cluster.member('cut off', { dailyBudgetUsd: 10 });
      const before = nanos((await budgetOf(cluster.pick(0), key.secret)).dailySpentUsd);
      // The role chunk and six words, then the connection drops: no usage chunk ever comes.
      openai.faults.next({ path: '/v1/chat/completions', cutAfterChunks: 7 });
      const sent = await send(cluster.pick(1), key.secret, turn(`cut me ${randomUUID()}`, 200));
      expect(sent.refusal).toBeNull();
      const row = await expectCharged(key.secret, sent.messageId as string, before, 'FAILED');
      expect(row.content).toBe(words(6));
      expect(row.promptTokens).toBe(row.contextTokens);
      expect(row.completionTokens).toBe(countTokens(row.content));
      const [events] = await usageEventsOf(cluster.db, [sent.messageId as string]);
      expect(events?.[0]?.estimated).toBe(true);
    });
  });
}
