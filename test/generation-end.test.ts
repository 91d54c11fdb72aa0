/**
 * A generation whose end cannot be written as it is still ends: its subscribers get one terminal
 * event, its row leaves STREAMING, and its usage is charged (usage event and budget). Triggers: a
 * reply holding U+0000 (which Postgres text cannot hold: replaced by U+FFFD in the deltas and the
 * row alike), tool call arguments holding U+0000 (refused by jsonb: written again as FAILED), and
 * a database that refuses every write of the end for a while. (An output check that throws ends
 * the reply FAILED too: verdictOf, src/chat/output-check.test.ts.)
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SqlRunner } from '../src/db/sql-runner.js';
import { type FakeServer, startOpenAIFake } from './fakes/index.js';
import { eventually } from './helpers/eventually.js';
import { fakeProviderEnv } from './helpers/fake-provider-env.js';
import { budgetOf, endedMessages, nanos, openChat, usageEventsOf } from './helpers/limits-client.js';
import { LIMITS_BACKENDS, type LimitsCluster, type Member, startLimitsCluster } from './helpers/limits-cluster.js';

/** While the database is "down", a statement carrying this text is refused, as by a lost connection. */
const UNWRITABLE = 'unwritable-reply';

/**
 * Makes `sql` (a server's own runner, which writes every generation's end) refuse statements that
 * carry UNWRITABLE while `down()` says so. Patched on the instance: no module is mocked.
 */
function refuseWhileDown(sql: SqlRunner, down: () => boolean): void {
  const query = sql.query.bind(sql);
  sql.query = ((statement, options) =>
    down() && statement.values.some((value) => typeof value === 'string' && value.includes(UNWRITABLE))
      ? Promise.reject(new Error('Connection terminated unexpectedly'))
      : query(statement, options)) as SqlRunner['query'];
}

const HEADER = 'x-switchyard-conversation';
const dbId = (id: string) => Buffer.from(id, 'base64url').toString('utf8').split(':')[1] as string;

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`a generation's end that cannot be written as it is: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;
    const database = { down: false };

    beforeAll(async () => {
      openai = await startOpenAIFake();
      cluster = await startLimitsCluster(backend, { env: fakeProviderEnv({ openai }) });
      for (let i = 0; i < backend.instances; i++)
        refuseWhileDown(cluster.pick(i).app.database.sql, () => database.down);
    });
    afterAll(async () => {
      await cluster?.close();
      await openai?.close();
    });
    afterEach(() => openai.setReply(undefined));

    /** A key with a daily budget, so that what a turn is charged shows in `budget`. */
    const budgeted = (name: string) => cluster.member(name, { dailyBudgetUsd: 10 });

    /** The message's row once it ended, its usage event, and the key's spend matching the row's cost. */
    async function charged(member: Member, messageId: string) {
      const [row] = await endedMessages(cluster.db, [messageId]);
      const [events] = await usageEventsOf(cluster.db, [messageId]);
      expect(events).toHaveLength(1);
      expect(events?.[0]?.completionTokens).toBeGreaterThan(0);
      const cost = nanos(row?.costUsd ?? null);
      expect(cost).toBeGreaterThan(0);
      expect(nanos(events?.[0]?.costUsd ?? null)).toBe(cost);
      await eventually(
        () => budgetOf(cluster.pick(1), member.secret),
        (b) => nanos(b.dailySpentUsd) === cost,
        { what: `dailySpentUsd to be ${cost / 1e9}` },
      );
      return row as NonNullable<typeof row>;
    }

    it('a reply holding U+0000 streams and is stored with U+FFFD in its place, COMPLETE and charged', async () => {
      const member = await budgeted('nul-reply');
      openai.setReply(['before', '\u0000', ' after', ' \u0000end']);
      const chat = await openChat(cluster.pick(0), member.secret, {
        content: 'say something odd',
        model: 'gpt-4o-mini',
      });
      const end = await chat.end();
      const expected = 'before\uFFFD after \uFFFDend';
      expect(end).toMatchObject({ __typename: 'MessageCompleted', message: { status: 'COMPLETE' } });
      const streamed = chat.events
        .filter((e) => e.__typename === 'MessageDelta')
        .map((e) => e.text)
        .join('');
      expect(streamed).toBe(expected);
      const row = await charged(member, chat.messageId());
      expect(row).toMatchObject({ status: 'COMPLETE', content: expected });
    });

    it('a stored REST call whose reply holds U+0000 answers with U+FFFD in its place, as stored', async () => {
      const member = await budgeted('nul-reply-rest');
      openai.setReply('one\u0000two');
      const client = new OpenAI({
        apiKey: member.secret,
        baseURL: `${cluster.pick(0).origin}/v1`,
        maxRetries: 0,
        timeout: 30_000,
        defaultHeaders: { [HEADER]: 'new' },
      });
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'say something odd' }] })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe('one\uFFFDtwo');
      const row = await charged(member, dbId(response.headers.get('x-switchyard-message-id') as string));
      expect(row).toMatchObject({ status: 'COMPLETE', content: 'one\uFFFDtwo' });
    });

    it('an end that cannot be written at all still ends the stream and charges the budget; it is written once it can be', async () => {
      const member = await budgeted('unwritable');
      openai.setReply(`an ${UNWRITABLE} here`);
      database.down = true;
      try {
        const chat = await openChat(cluster.pick(0), member.secret, { content: 'hello', model: 'gpt-4o-mini' });
        const end = await chat.end();
        expect(end).toMatchObject({ __typename: 'MessageFailed', code: 'INTERNAL_SERVER_ERROR' });
        const messageId = chat.messageId();
        // No usage event could be written: the counters are charged all the same.
        const [events] = await usageEventsOf(cluster.db, [messageId]);
        expect(events).toEqual([]);
        const spent = await eventually(
          () => budgetOf(cluster.pick(1), member.secret),
          (b) => nanos(b.dailySpentUsd) > 0,
          { what: 'dailySpentUsd above zero' },
        );
        // The database answers again: the end is written (at the next heartbeat) with its usage event.
        database.down = false;
        const row = await charged(member, messageId);
        expect(row).toMatchObject({
          status: 'FAILED',
          errorCode: 'INTERNAL_SERVER_ERROR',
          content: `an ${UNWRITABLE} here`,
        });
        expect(nanos(row.costUsd)).toBe(nanos(spent.dailySpentUsd));
      } finally {
        database.down = false;
      }
    });

    it('tool call arguments Postgres refuses end the message FAILED (written again without them), charged', async () => {
      const member = await budgeted('nul-tool-call');
      openai.setReply({ text: 'calling', toolCalls: [{ name: 'lookup', arguments: '{"q":"a\u0000b"}' }] });
      const chat = await openChat(cluster.pick(0), member.secret, {
        content: 'look it up',
        model: 'gpt-4o-mini',
        tools: [{ name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }],
      } as never);
      expect(chat.refusal).toBeNull();
      const end = await chat.end();
      expect(end).toMatchObject({
        __typename: 'MessageFailed',
        code: 'INTERNAL_SERVER_ERROR',
        message: { status: 'FAILED' },
      });
      const row = await charged(member, chat.messageId());
      expect(row).toMatchObject({ status: 'FAILED', errorCode: 'INTERNAL_SERVER_ERROR', content: 'calling' });
      expect(row.toolCalls).toBeNull();
    });
  });
}
