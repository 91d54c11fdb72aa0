/**
 * `usage` grouped by day, model, key and user equals the sum over the messages that were
 * generated, with turns from two users (one with two keys) on two models spread across the
 * instances; a user's key sees only that user's usage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalId } from '../../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { endedMessages, nanos, send } from '../helpers/limits-client.js';
import {
  LIMITS_BACKENDS,
  type LimitsCluster,
  type Member,
  ok,
  post,
  startLimitsCluster,
} from '../helpers/limits-cluster.js';
import type { UsageRow } from '../usage/usage-server.js';

const USAGE = `query($from: DateTime!, $to: DateTime!, $groupBy: [UsageGroup!]) {
  usage(from: $from, to: $to, groupBy: $groupBy) {
    day model provider apiKey { id } user { id } requests promptTokens completionTokens costUsd
  }
}`;

type Dimension = 'DAY' | 'MODEL' | 'API_KEY' | 'USER';

/** One generation as the test saw it: who sent it, and its stored message. */
interface Sent {
  member: Member;
  messageId: string;
}

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`usage report: ${backend.name}`, () => {
    let cluster: LimitsCluster;
    let openai: FakeServer;

    beforeAll(async () => {
      openai = await startOpenAIFake();
      cluster = await startLimitsCluster(backend, {
        env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.baseURL, MOCK_TOKEN_DELAY_MS: '1' },
        // The mock is free unless priced: priced here so that both models' rows carry a cost.
        config: { prices: { 'mock-echo': { input: 1.25, output: 3.5 } } },
      });
    });
    afterAll(async () => {
      await cluster?.close();
      await openai?.close();
    });

    it('usage grouped by DAY, MODEL, API_KEY and USER equals the sum over messages, for the admin and for a user', async () => {
      const aliceId = await cluster.user('alice');
      const alice1 = await cluster.key(aliceId, 'alice one', { requestsPerMinute: 1_000 });
      const alice2 = await cluster.key(aliceId, 'alice two', { dailyBudgetUsd: 100 });
      const bob = await cluster.member('bob', { tokensPerMinute: 1_000_000 });
      const plan: [Member, string][] = [
        [alice1, 'gpt-4o-mini'],
        [alice1, 'mock-echo'],
        [alice1, 'gpt-4o-mini'],
        [alice2, 'mock-echo'],
        [alice2, 'gpt-4o-mini'],
        [bob, 'mock-echo'],
        [bob, 'mock-echo'],
        [bob, 'gpt-4o-mini'],
        [bob, 'gpt-4o-mini'],
      ];
      const sent: Sent[] = await Promise.all(
        plan.map(async ([member, model], i) => {
          const turn = await send(cluster.pick(i), member.secret, {
            content: `usage ${i} ${'word '.repeat(i * 3)}`,
            model,
            maxTokens: 30 + i,
          });
          expect(turn.refusal).toBeNull();
          return { member, messageId: turn.messageId as string };
        }),
      );
      const rows = await endedMessages(
        cluster.db,
        sent.map((s) => s.messageId),
      );
      expect(rows.every((m) => m.status === 'COMPLETE' && m.costUsd !== null && nanos(m.costUsd) > 0)).toBe(true);

      /** The expected rows: the sum over messages, grouped as `usage` groups. */
      const expected = (dimensions: Dimension[], of: Sent[]) => {
        const groups = new Map<
          string,
          { key: Record<string, string>; requests: number; p: number; c: number; cost: number }
        >();
        for (const s of of) {
          const m = rows.find((r) => r.id === s.messageId);
          if (!m) throw new Error('missing');
          const key: Record<string, string> = {};
          if (dimensions.includes('DAY')) key.day = m.createdAt.toISOString().slice(0, 10);
          if (dimensions.includes('MODEL')) key.model = m.model as string;
          if (dimensions.includes('API_KEY')) key.apiKey = s.member.keyId;
          if (dimensions.includes('USER')) key.user = s.member.userId;
          const id = JSON.stringify(key);
          const group = groups.get(id) ?? { key, requests: 0, p: 0, c: 0, cost: 0 };
          group.requests += 1;
          group.p += m.promptTokens as number;
          group.c += m.completionTokens as number;
          group.cost += nanos(m.costUsd);
          groups.set(id, group);
        }
        return [...groups.values()]
          .map((g) => ({ ...g.key, requests: g.requests, promptTokens: g.p, completionTokens: g.c, costNanos: g.cost }))
          .sort(byKey);
      };

      /** The `usage` rows as `secret` sees them, in the same shape. */
      const reported = async (secret: string | null, dimensions: Dimension[], i: number) => {
        const variables = {
          from: new Date(Date.now() - 86_400_000).toISOString(),
          to: new Date(Date.now() + 86_400_000).toISOString(),
          groupBy: dimensions,
        };
        const reply = secret
          ? await post<{ usage: UsageRow[] }>(cluster.pick(i), secret, USAGE, variables)
          : await cluster.admin<{ usage: UsageRow[] }>(USAGE, variables, i);
        return ok(reply)
          .usage.map((row) => ({
            ...(dimensions.includes('DAY') ? { day: row.day } : {}),
            ...(dimensions.includes('MODEL') ? { model: row.model } : {}),
            ...(dimensions.includes('API_KEY') ? { apiKey: parseGlobalId(row.apiKey?.id as string, 'ApiKey') } : {}),
            ...(dimensions.includes('USER') ? { user: parseGlobalId(row.user?.id as string, 'User') } : {}),
            requests: row.requests,
            promptTokens: row.promptTokens,
            completionTokens: row.completionTokens,
            costNanos: nanos(row.costUsd),
          }))
          .sort(byKey);
      };

      const groupings: Dimension[][] = [['DAY', 'MODEL', 'API_KEY', 'USER'], ['DAY'], ['MODEL'], ['API_KEY'], ['USER']];
      for (const [i, dimensions] of groupings.entries()) {
        expect(await reported(null, dimensions, i), `admin, by ${dimensions}`).toEqual(expected(dimensions, sent));
      }
      // Nine generations in all; two models; three keys; two users.
      expect(await reported(null, ['MODEL'], 0)).toHaveLength(2);
      expect(await reported(null, ['API_KEY'], 1)).toHaveLength(3);

      const bobs = sent.filter((s) => s.member === bob);
      for (const [i, dimensions] of groupings.entries()) {
        expect(await reported(bob.secret, dimensions, i + 1), `bob, by ${dimensions}`).toEqual(
          expected(dimensions, bobs),
        );
      }
    });
  });
}

const byKey = (a: object, b: object) => JSON.stringify(a).localeCompare(JSON.stringify(b));
