/**
 * `POST /v1/embeddings` through the official `openai` SDK, over the OpenAI fake: a call is charged
 * the tokens the provider reported (its response, usage event, budget and access-log line agree),
 * the gateway's own count only when the provider reports none; a call that no provider answered
 * charges nothing and its line carries its error code.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPriceBook } from '../../src/policy/prices/price-book.js';
import { countTokens } from '../../src/util/count-tokens.js';
import { type FakeServer, countTokens as fakeCount, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { accessLineOf, type LogLine, startLoggedServer } from '../helpers/logged-server.js';
import type { TestServer } from '../helpers/test-server.js';

const MODEL = 'text-embedding-3-small';
/** Long words: the fake counts one token a word, the gateway's tokenizer many more. */
const INPUT = ['Antidisestablishmentarianism notwithstanding', 'pneumonoultramicroscopicsilicovolcanoconiosis'];
const REPORTED = INPUT.reduce((sum, text) => sum + fakeCount(text), 0);
const COUNTED = INPUT.reduce((sum, text) => sum + countTokens(text), 0);
const costNanos = (promptTokens: number) =>
  createPriceBook().costNanos({ kind: 'openai', model: MODEL }, { promptTokens, completionTokens: 0 }) as number;

describe('REST embeddings: charged what the provider reported', () => {
  let server: TestServer;
  let logs: LogLine[];
  let openai: FakeServer;

  /** A key of its own with a daily budget (so the call is settled against it) and its SDK client. */
  const budgetedCaller = async (name: string) => {
    const caller = await keyCaller(server.app.database.prisma, name);
    await server.app.database.prisma.apiKey.update({
      where: { id: caller.apiKeyId },
      data: { limits: { dailyBudgetUsd: 5 } },
    });
    const client = new OpenAI({ apiKey: caller.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
    return { ...caller, client };
  };
  const spentNanos = async (authorization: string) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: '{ budget { dailySpentUsd } }' }),
    });
    const body = (await response.json()) as { data: { budget: { dailySpentUsd: number } } };
    return Math.round(body.data.budget.dailySpentUsd * 1e9);
  };
  const lineOf = (requestId: string) => accessLineOf(logs, requestId);
  const eventsOf = (apiKeyId: string) => server.app.database.prisma.usageEvent.findMany({ where: { apiKeyId } });

  beforeAll(async () => {
    openai = await startOpenAIFake();
    ({ server, logs } = await startLoggedServer(fakeProviderEnv({ openai }), 'info'));
    // Otherwise the two counts could not tell which one was charged.
    expect(REPORTED).toBeLessThan(COUNTED);
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
  });

  it('charges the reported tokens: the response, the usage event, the budget and the access line agree', async () => {
    const caller = await budgetedCaller('embedder-reported');
    const { data, response } = await caller.client.embeddings.create({ model: MODEL, input: INPUT }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.usage).toEqual({ prompt_tokens: REPORTED, total_tokens: REPORTED });

    const [event, ...more] = await eventsOf(caller.apiKeyId);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      provider: 'openai',
      model: MODEL,
      promptTokens: REPORTED,
      completionTokens: 0,
      status: 'COMPLETE',
      estimated: false,
    });
    expect(Math.round(Number(event?.costUsd) * 1e9)).toBe(costNanos(REPORTED));
    expect(await spentNanos(caller.authorization)).toBe(costNanos(REPORTED));

    const line = await lineOf(response.headers.get('x-request-id') ?? '');
    expect(line).toMatchObject({
      operation: 'POST /v1/embeddings',
      status: 200,
      apiKeyId: caller.apiKeyId,
      tokens: { prompt: REPORTED, completion: 0 },
    });
    expect(line?.costUsd).toBeCloseTo(costNanos(REPORTED) / 1e9, 12);
    expect(line?.code).toBeUndefined();
  });

  it("charges the gateway's own count when the provider reports no usage", async () => {
    const caller = await budgetedCaller('embedder-unreported');
    openai.faults.next({ path: '/v1/embeddings', omitUsage: true });
    const { data, response } = await caller.client.embeddings.create({ model: MODEL, input: INPUT }).withResponse();
    expect(openai.faults.pending).toBe(0);
    expect(data.usage).toEqual({ prompt_tokens: COUNTED, total_tokens: COUNTED });

    const [event] = await eventsOf(caller.apiKeyId);
    expect(event).toMatchObject({ promptTokens: COUNTED, completionTokens: 0, estimated: true });
    expect(await spentNanos(caller.authorization)).toBe(costNanos(COUNTED));
    const line = await lineOf(response.headers.get('x-request-id') ?? '');
    expect(line).toMatchObject({ tokens: { prompt: COUNTED, completion: 0 } });
    expect(line?.costUsd).toBeCloseTo(costNanos(COUNTED) / 1e9, 12);
  });

  it('never credits a budget with the negative or fractional usage an upstream claims', async () => {
    const caller = await budgetedCaller('embedder-lying');
    // A first honest chat, so that a credit would show as spend going down.
    await caller.client.embeddings.create({ model: MODEL, input: INPUT });
    const before = await spentNanos(caller.authorization);
    expect(before).toBe(costNanos(REPORTED));

    openai.faults.next({ path: '/v1/embeddings', usage: { prompt_tokens: -1_000_000_000 } });
    const embedded = await caller.client.embeddings.create({ model: MODEL, input: INPUT });
    // Not a count: the gateway's own count stands in, as when none is reported.
    expect(embedded.usage.prompt_tokens).toBe(COUNTED);

    openai.faults.next({
      path: '/v1/chat/completions',
      usage: { prompt_tokens: -5_000_000, completion_tokens: 2.5, prompt_tokens_details: { cached_tokens: -7 } },
    });
    const stream = await caller.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(openai.faults.pending).toBe(0);
    expect(usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 });

    const events = await eventsOf(caller.apiKeyId);
    expect(events).toHaveLength(3);
    for (const event of events) {
      expect(event.promptTokens).toBeGreaterThanOrEqual(0);
      expect(event.completionTokens).toBeGreaterThanOrEqual(0);
      expect(Number(event.costUsd)).toBeGreaterThanOrEqual(0);
    }
    // Spend only grew: by the embedding at the gateway's count and the chat at what it was charged.
    const chat = events.find((event) => event.model === 'gpt-4o-mini');
    const chatNanos = Math.round(Number(chat?.costUsd) * 1e9);
    expect(await spentNanos(caller.authorization)).toBe(before + costNanos(COUNTED) + chatNanos);
  });

  it('charges nothing for a call no provider answered, and its line carries the error code', async () => {
    const caller = await budgetedCaller('embedder-refused');
    openai.faults.next({ path: '/v1/embeddings', status: 400 });
    const failed = await caller.client.embeddings
      .create({ model: MODEL, input: INPUT })
      .withResponse()
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    const requestId = (failed as InstanceType<typeof OpenAI.APIError>).headers?.get('x-request-id') ?? '';

    const line = await lineOf(requestId);
    expect(line).toMatchObject({ operation: 'POST /v1/embeddings', code: 'UPSTREAM_ERROR' });
    expect(line?.tokens).toBeUndefined();
    expect(line?.costUsd).toBeUndefined();
    expect(await eventsOf(caller.apiKeyId)).toEqual([]);
    expect(await spentNanos(caller.authorization)).toBe(0);
  });
});
