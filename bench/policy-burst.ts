import { type GraphqlResponse, graphqlPoster } from './graphql-post.js';
import type { Gateway } from './peers/gateways.js';
import { type LatencySummary, summarise } from './stats.js';

// Keys made through the GraphQL API with the admin key (the same on PGlite and Postgres), and
// bursts of requests against a small requestsPerMinute limit over several instances.

/** Every benchmark gateway is started with this SWITCHYARD_ADMIN_KEY. */
export const ADMIN_KEY = 'switchyard-bench-admin-key-0123456789abcdef';
/** The fake upstream's model, as the chat clients ask for it. */
export const MODEL = 'gpt-4o-mini';

/** One burst: `requests` sendMessage mutations at once, alternating between two instances. */
export interface BurstRow {
  requestsPerMinute: number;
  requests: number;
  admitted: number;
  /** RATE_LIMITED with a positive `retryAfterMs` and `limit: requestsPerMinute`. */
  rateLimited: number;
  /** RATE_LIMITED with `limit: unavailable`: the store did not answer in time, so the request was refused (fail closed). */
  unavailable: number;
  otherErrors: number;
  errorSamples: Record<string, number>;
  byInstance: { admitted: number; rateLimited: number; unavailable: number }[];
  /** From the first request sent to the last answer received. */
  burstMs: number;
  latencyMs: LatencySummary;
  /** Generations the ledger recorded for the key (`usage` grouped by API key), once they ended. */
  recordedRequests: number | null;
}

const CREATE_KEY = `mutation Key($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`;

async function admin<T>(gateway: Gateway, query: string, variables?: Record<string, unknown>): Promise<T> {
  const client = graphqlPoster(gateway.url, 1, { authorization: `Bearer ${ADMIN_KEY}` });
  try {
    const response = await client.post<T>(query, variables);
    if (response.errors?.length || !response.data) throw new Error(JSON.stringify(response.errors).slice(0, 300));
    return response.data;
  } finally {
    client.close();
  }
}

export async function createKey(gateway: Gateway, name: string, limits?: Record<string, number>) {
  const data = await admin<{ createApiKey: { secret: string; apiKey: { id: string } } }>(gateway, CREATE_KEY, {
    input: { name, ...(limits ? { limits } : {}) },
  });
  return { secret: data.createApiKey.secret, id: data.createApiKey.apiKey.id };
}

export const BUDGET = '{ budget { dailyLimitUsd dailySpentUsd monthlyLimitUsd monthlySpentUsd } }';

export async function budgetOf(gateway: Gateway, authorization: string): Promise<unknown> {
  const client = graphqlPoster(gateway.url, 1, { authorization });
  try {
    const response = await client.post<{ budget: unknown }>(BUDGET);
    return response.data?.budget ?? response.errors;
  } finally {
    client.close();
  }
}

const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const USAGE = `query Usage($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to, groupBy: [API_KEY]) { apiKey { id } requests } }`;

interface GraphqlError {
  message?: string;
  extensions?: { code?: string; limit?: string; retryAfterMs?: number };
}

/**
 * A fresh key limited to `limit` requests per minute; every connection is opened and every cache
 * warmed (the key, its limits) with `budget` queries first, then `requests` sendMessage mutations
 * go out at once, request i to instance i mod 2.
 */
export async function burst(
  adminGateway: Gateway,
  instances: Gateway[],
  limit: number,
  requests: number,
  content: string,
): Promise<BurstRow> {
  const from = new Date(Date.now() - 60_000).toISOString();
  const key = await createKey(adminGateway, `burst ${limit}`, { requestsPerMinute: limit });
  const share = Math.ceil(requests / instances.length);
  const clients = instances.map((gateway) =>
    graphqlPoster(gateway.url, share, { authorization: `Bearer ${key.secret}` }),
  );
  try {
    await Promise.all(clients.map((client) => Promise.all(Array.from({ length: share }, () => client.post(BUDGET)))));
    const byInstance = instances.map(() => ({ admitted: 0, rateLimited: 0, unavailable: 0 }));
    const errorSamples: Record<string, number> = {};
    const latencies: number[] = [];
    let otherErrors = 0;
    const input = { content, provider: 'openai', model: MODEL };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const instance = i % instances.length;
        const sent = performance.now();
        const response: GraphqlResponse<unknown> = await (clients[instance] as (typeof clients)[number])
          .post(SEND, { input })
          .catch((error: Error) => ({ errors: [{ message: error.message }] }));
        latencies.push(performance.now() - sent);
        const tally = byInstance[instance] as (typeof byInstance)[number];
        const error = response.errors?.[0] as GraphqlError | undefined;
        if (!error && response.data) tally.admitted++;
        else if (
          error?.extensions?.code === 'RATE_LIMITED' &&
          error.extensions.limit === 'requestsPerMinute' &&
          Number(error.extensions.retryAfterMs) > 0
        )
          tally.rateLimited++;
        else if (error?.extensions?.code === 'RATE_LIMITED' && error.extensions.limit === 'unavailable')
          tally.unavailable++;
        else {
          otherErrors++;
          const sample = JSON.stringify(error ?? response).slice(0, 160);
          errorSamples[sample] = (errorSamples[sample] ?? 0) + 1;
        }
      }),
    );
    const burstMs = performance.now() - t0;
    const admitted = byInstance.reduce((sum, b) => sum + b.admitted, 0);
    return {
      requestsPerMinute: limit,
      requests,
      admitted,
      rateLimited: byInstance.reduce((sum, b) => sum + b.rateLimited, 0),
      unavailable: byInstance.reduce((sum, b) => sum + b.unavailable, 0),
      otherErrors,
      errorSamples,
      byInstance,
      burstMs,
      latencyMs: summarise(latencies),
      recordedRequests: await recorded(adminGateway, key.id, from, admitted),
    };
  } finally {
    for (const client of clients) client.close();
  }
}

/** The key's generations in the ledger, polled until they reach `expected` (or 20 s pass). */
async function recorded(gateway: Gateway, keyId: string, from: string, expected: number): Promise<number | null> {
  const deadline = performance.now() + 20_000;
  let count: number | null = null;
  while (performance.now() < deadline) {
    const to = new Date(Date.now() + 60_000).toISOString();
    const data = await admin<{ usage: { apiKey: { id: string } | null; requests: number }[] }>(gateway, USAGE, {
      from,
      to,
    }).catch(() => null);
    count = data?.usage.find((row) => row.apiKey?.id === keyId)?.requests ?? (data ? 0 : null);
    if (count !== null && count >= expected) return count;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return count;
}
