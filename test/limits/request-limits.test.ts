/**
 * Per-minute limits and concurrent streams through the real server(s): exact under bursts split
 * across two instances sharing Redis (and on one instance without it), refusals before anything
 * is written or sent upstream, the token window charged the real streamed usage, and the
 * x-ratelimit-* headers on HTTP and SSE responses.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { eventually } from '../helpers/eventually.js';
import {
  budgetOf,
  burst,
  endedMessages,
  openChat,
  send,
  type Turn,
  tally,
  usageEventsOf,
} from '../helpers/limits-client.js';
import {
  LIMITS_BACKENDS,
  type LimitsCluster,
  type Member,
  post,
  startLimitsCluster,
} from '../helpers/limits-cluster.js';

const words = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
/** The built-in mock (MOCK_TOKEN_DELAY_MS paces it); the OpenAI fake is the default model here. */
const MOCK = 'mock-echo';
const CANCEL = 'mutation($id: ID!) { cancelMessage(id: $id) { status } }';
const messageGlobalId = (id: string) => Buffer.from(`Message:${id}`).toString('base64url');

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`request limits: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;

    beforeAll(async () => {
      openai = await startOpenAIFake();
      cluster = await startLimitsCluster(backend, {
        env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL, MOCK_TOKEN_DELAY_MS: '20' },
      });
    });
    afterAll(async () => {
      await cluster?.close();
      await openai?.close();
    });

    /** Cancels running messages (on the instance after the one that runs them, where there are two). */
    const cancelAll = async (secret: string, ids: string[]) => {
      await Promise.all(ids.map((id, i) => post(cluster.pick(i + 1), secret, CANCEL, { id: messageGlobalId(id) })));
      return endedMessages(cluster.db, ids);
    };

    it('a burst of 100 against requestsPerMinute: 30 admits exactly 30; the 70 refused wrote nothing and sent nothing upstream', async () => {
      const key = await cluster.member('burst', { requestsPerMinute: 30 });
      const marker = `burst-${randomUUID()}`;
      const turns = await burst(100, (i) =>
        send(cluster.pick(i), key.secret, { content: `${marker} ${i}`, model: 'gpt-4o-mini', maxTokens: 20 }),
      );
      const { admitted, refused } = tally(turns);
      expect(admitted).toHaveLength(30);
      expect(refused).toHaveLength(70);
      for (const turn of refused) {
        expect(turn.refusal).toMatchObject({ code: 'RATE_LIMITED', limit: 'requestsPerMinute' });
        expect(turn.refusal?.retryAfterMs).toBeGreaterThan(0);
        expect(turn.refusal?.retryAfterMs).toBeLessThanOrEqual(60_000);
      }
      // Each admission saw the count the one before it left: 29 down to 0, each exactly once.
      const remaining = admitted.map((t) => Number(t.headers.get('x-ratelimit-remaining-requests')));
      expect(remaining.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(new Set(admitted.map((t) => t.headers.get('x-ratelimit-limit-requests')))).toEqual(new Set(['30']));

      const ids = admitted.map((t) => t.messageId as string);
      await endedMessages(cluster.db, ids);
      expect(await cluster.db.conversation.count({ where: { userId: key.userId } })).toBe(30);
      expect(await cluster.db.message.count({ where: { userId: key.userId } })).toBe(60);
      expect((await usageEventsOf(cluster.db, ids)).every((events) => events.length === 1)).toBe(true);
      expect(await cluster.db.usageEvent.count({ where: { userId: key.userId } })).toBe(30);
      const upstream = openai.requests.filter((r) => JSON.stringify(r.body ?? null).includes(marker));
      expect(upstream).toHaveLength(30);
    });

    it("a user's requestsPerMinute covers all of its keys: 20 at once over two keys admit exactly 10", async () => {
      const userId = await cluster.user('two keys', { requestsPerMinute: 10 });
      const keys = [await cluster.key(userId, 'first'), await cluster.key(userId, 'second', { requestsPerMinute: 50 })];
      const turns = await burst(20, (i) =>
        send(cluster.pick(i >> 1), (keys[i % 2] as Member).secret, { content: `user burst ${i}`, model: MOCK }),
      );
      const { admitted, refused } = tally(turns);
      expect(admitted).toHaveLength(10);
      for (const turn of refused) {
        expect(turn.refusal).toMatchObject({ code: 'RATE_LIMITED', limit: 'requestsPerMinute' });
        expect(turn.refusal?.message).toContain("this user's");
      }
      await endedMessages(
        cluster.db,
        admitted.map((t) => t.messageId as string),
      );
      expect(await cluster.db.message.count({ where: { userId } })).toBe(20);
    });

    it('keys a key makes count against its own limits too: 20 at once over a key and its child admit exactly 8', async () => {
      const parent = await cluster.member('maker', { requestsPerMinute: 8 });
      const made = await post<{ createApiKey: { secret: string } }>(
        cluster.pick(0),
        parent.secret,
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`,
        { input: { name: 'child', scopes: ['CHAT'], limits: { requestsPerMinute: 8 } } },
      );
      expect(made.errors).toBeUndefined();
      const child = made.data?.createApiKey.secret as string;
      const turns = await burst(20, (i) =>
        send(cluster.pick(i >> 1), i % 2 ? child : parent.secret, { content: `child burst ${i}`, model: MOCK }),
      );
      const { admitted, refused } = tally(turns);
      expect(admitted).toHaveLength(8);
      for (const turn of refused)
        expect(turn.refusal).toMatchObject({ code: 'RATE_LIMITED', limit: 'requestsPerMinute' });
      await endedMessages(
        cluster.db,
        admitted.map((t) => t.messageId as string),
      );
    });

    it('concurrentStreams: 3 holds exactly three running under a burst, and frees the slots when they end', async () => {
      const key = await cluster.member('streams', { concurrentStreams: 3 });
      // 400 words at 20 ms a token: each runs for seconds, far longer than the burst takes.
      const long = (i: number) => send(cluster.pick(i), key.secret, { content: words(400, `s${i}-`), model: MOCK });
      const { admitted, refused } = tally(await burst(12, long));
      expect(admitted).toHaveLength(3);
      expect(refused).toHaveLength(9);
      for (const turn of refused) {
        expect(turn.refusal).toMatchObject({ code: 'RATE_LIMITED', limit: 'concurrentStreams' });
        expect(turn.refusal?.retryAfterMs).toBeGreaterThan(0);
      }
      const running = admitted.map((t) => t.messageId as string);
      expect(await cluster.db.message.count({ where: { userId: key.userId, status: 'STREAMING' } })).toBe(3);
      expect(await cluster.db.message.count({ where: { userId: key.userId, role: 'ASSISTANT' } })).toBe(3);

      const cancelled = await cancelAll(key.secret, running);
      expect(cancelled.map((m) => m.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);

      // The slots come back (each is freed right after its message's final row is written).
      const first = await eventually(
        () => long(100),
        (turn: Turn) => turn.messageId !== null,
        { what: 'a turn admitted once the three streams ended' },
      );
      const again = tally(await burst(4, (i) => long(200 + i)));
      expect(again.admitted).toHaveLength(2);
      expect(again.refused.map((t) => t.refusal?.limit)).toEqual(['concurrentStreams', 'concurrentStreams']);
      await cancelAll(
        key.secret,
        [first, ...again.admitted].map((t) => t.messageId as string),
      );
    });

    it('tokensPerMinute is charged the real streamed usage: remaining tokens fall by it, and the request that does not fit is refused', async () => {
      const limit = 500;
      const maxTokens = 100;
      const key = await cluster.member('tokens', { tokensPerMinute: limit });
      const input = { content: words(40, 't'), model: MOCK, maxTokens };
      const firstSentAt = Date.now();
      let firstAnsweredAt = 0;
      const done: { real: number; remaining: number; reserved: number }[] = [];
      let refusal: Record<string, unknown> | null = null;
      let refusedBetween: [number, number] = [0, 0];
      for (let i = 0; i < 12 && refusal === null; i++) {
        const sentAt = Date.now();
        const chat = await openChat(cluster.pick(i), key.secret, input);
        if (i === 0) firstAnsweredAt = Date.now();
        if (chat.refusal) {
          refusal = chat.refusal;
          refusedBetween = [sentAt, Date.now()];
          break;
        }
        expect((await chat.end()).__typename).toBe('MessageCompleted');
        const [row] = await endedMessages(cluster.db, [chat.messageId()]);
        if (!row) throw new Error('no row');
        done.push({
          real: (row.promptTokens as number) + (row.completionTokens as number),
          reserved: (row.contextTokens as number) + maxTokens,
          remaining: Number(chat.headers.get('x-ratelimit-remaining-tokens')),
        });
        expect(chat.headers.get('x-ratelimit-limit-tokens')).toBe(String(limit));
      }
      // Each admission held its prompt plus maxTokens on top of the real usage of those before it.
      let spent = 0;
      for (const turn of done) {
        expect(turn.remaining).toBe(limit - spent - turn.reserved);
        spent += turn.real;
      }
      expect(done.map((t) => t.remaining)).toEqual([...done.map((t) => t.remaining)].sort((x, y) => y - x));
      // Real usage is well below the reservation, so more fit than reservations alone would allow.
      const reserved = done[0]?.reserved as number;
      expect(done.length).toBeGreaterThan(Math.floor(limit / reserved));
      // The refused one is exactly the first whose reservation does not fit beside the real usage.
      expect(spent + reserved).toBeGreaterThan(limit);
      expect(refusal).toMatchObject({ code: 'RATE_LIMITED', limit: 'tokensPerMinute' });
      // Retry when the first entry leaves the 60 s window.
      const retryAfterMs = refusal?.retryAfterMs as number;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(firstAnsweredAt + 60_000 - refusedBetween[0] + 1_000);
      expect(retryAfterMs).toBeGreaterThanOrEqual(firstSentAt + 60_000 - refusedBetween[1] - 1_000);
    });

    it('x-ratelimit-* headers on an SSE chat response and on an HTTP sendMessage, none without per-minute limits', async () => {
      const key = await cluster.member('headers', { requestsPerMinute: 10, tokensPerMinute: 100_000 });
      const input = { content: 'how many tokens are left', model: MOCK, maxTokens: 50 };
      const rateHeaders = (headers: Headers) =>
        Object.fromEntries([...headers].filter(([name]) => name.startsWith('x-ratelimit-')));
      // SSE first: its terminal event comes after the turn was settled, so the next figures are exact.
      const sse = await openChat(cluster.pick(1), key.secret, input);
      expect(sse.refusal).toBeNull();
      expect(sse.headers.get('content-type')).toContain('text/event-stream');
      expect((await sse.end()).__typename).toBe('MessageCompleted');
      const [first] = await endedMessages(cluster.db, [sse.messageId()]);
      if (!first) throw new Error('no row');
      const reserved = (first.contextTokens as number) + 50;
      expect(rateHeaders(sse.headers)).toEqual({
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '9',
        'x-ratelimit-limit-tokens': '100000',
        'x-ratelimit-remaining-tokens': String(100_000 - reserved),
      });

      const http = await send(cluster.pick(0), key.secret, input);
      expect(http.refusal).toBeNull();
      const real = (first.promptTokens as number) + (first.completionTokens as number);
      expect(rateHeaders(http.headers)).toEqual({
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '8',
        'x-ratelimit-limit-tokens': '100000',
        'x-ratelimit-remaining-tokens': String(100_000 - real - reserved),
      });
      await endedMessages(cluster.db, [http.messageId as string]);

      const budgetOnly = await cluster.member('no per-minute limits', { dailyBudgetUsd: 5 });
      const plain = await send(cluster.pick(0), budgetOnly.secret, input);
      expect(plain.refusal).toBeNull();
      expect([...plain.headers.keys()].filter((name) => name.startsWith('x-ratelimit-'))).toEqual([]);
      expect((await budgetOf(cluster.pick(0), budgetOnly.secret)).dailyLimitUsd).toBe(5);
      await endedMessages(cluster.db, [plain.messageId as string]);
    });
  });
}
