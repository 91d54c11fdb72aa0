/**
 * The REST endpoints under attack and under failure, through real sockets: junk bodies, slow and
 * large bodies, keys that should not get through, and Redis or Postgres going away in the middle
 * of a stream. Every refusal is in the API's own error shape, every stream ends, nothing hangs.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId, parseGlobalId } from '../../src/schema/global-id.js';
import { call } from '../auth/identity-client.js';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { LIMITS_BACKENDS, type LimitsCluster, type Member, startLimitsCluster } from '../helpers/limits-cluster.js';
import { type LogLine, startLoggedServer } from '../helpers/logged-server.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import type { TestServer } from '../helpers/test-server.js';
import { startValveProxy, type ValveProxy } from '../helpers/valve-proxy.js';

const EMBEDDED = LIMITS_BACKENDS.find((b) => !b.shared) as (typeof LIMITS_BACKENDS)[number];
/** Generous: the machine is shared; every wait is for a condition, and this only names what did not happen. */
const WAIT_MS = 60_000;
const BODY_TIMEOUT_MS = 1_500;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`;

/** Fails with `what` if `promise` has not settled within WAIT_MS, instead of hanging to the test's timeout. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${WAIT_MS} ms for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** An OpenAI error body: `{"error":{"message","type","param","code"}}`. */
async function expectOpenAIError(response: Response, status: number | number[], what = '') {
  const statuses = Array.isArray(status) ? status : [status];
  const text = await response.text();
  expect(statuses, `${what}: ${response.status} ${text.slice(0, 300)}`).toContain(response.status);
  const body = JSON.parse(text) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body.error;
}

/** Generation calls a fake received (health probes, which list models, do not count). */
const generations = (...fakes: FakeServer[]) =>
  fakes.reduce((n, fake) => n + fake.requests.filter((r) => r.method === 'POST').length, 0);

/** A raw HTTP/1.1 exchange on its own socket: what came back, once the server closed it. */
function rawExchange(port: number, head: string, drip: { byte: string; everyMs: number } | null) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (data: string) => {
    received += data;
  });
  socket.on('error', () => {}); // a reset after the answer is the server closing: what is read counts
  socket.write(head);
  if (drip) {
    timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(drip.byte);
    }, drip.everyMs);
  }
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    }),
  );
  return { closed, destroy: () => socket.destroy() };
}

describe('REST attacks on one instance', () => {
  let cluster: LimitsCluster;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let member: Member;
  let server: TestServer;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
    cluster = await startLimitsCluster(EMBEDDED, {
      env: fakeProviderEnv({ openai, anthropic }),
      config: { rest: { bodyTimeoutMs: BODY_TIMEOUT_MS } },
    });
    server = cluster.pick(0);
    member = await cluster.member('attacker');
  });
  afterAll(async () => {
    await cluster?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}, secret = member.secret) =>
    fetch(`${server.origin}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length),
    });

  describe('junk bodies', () => {
    const ok = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] };
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const JUNK: { name: string; body: string | Buffer; headers?: Record<string, string> }[] = [
      { name: 'not JSON', body: 'hello, this is not JSON' },
      { name: 'a JSON array', body: '[1,2,3]' },
      { name: 'a JSON string', body: '"messages"' },
      { name: 'no body', body: '' },
      {
        name: '100,000 messages',
        body: JSON.stringify({
          ...ok,
          messages: Array.from({ length: 100_000 }, () => ({ role: 'user', content: 'x' })),
        }),
      },
      {
        name: 'a tool schema nested 100,000 deep',
        body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${nested(100_000)}}}]}`,
      },
      {
        name: 'a response schema nested 200 deep',
        body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":${nested(200)}}}}`,
      },
      { name: 'a million nested arrays', body: `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}` },
      { name: 'a text/plain Content-Type', body: JSON.stringify(ok), headers: { 'content-type': 'text/plain' } },
      {
        name: 'a form Content-Type',
        body: JSON.stringify(ok),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        name: 'invalid UTF-8',
        body: Buffer.concat([
          Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'),
          Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
          Buffer.from('"}]}'),
        ]),
      },
      { name: 'a model of 10 KB', body: JSON.stringify({ ...ok, model: 'm'.repeat(10_240) }) },
      { name: 'messages as an object', body: JSON.stringify({ ...ok, messages: { role: 'user' } }) },
    ];

    it.each(JUNK)(
      '$name on /v1/chat/completions is a 400 in OpenAI’s shape, without an upstream call',
      async ({ body, headers }) => {
        const before = generations(openai);
        await expectOpenAIError(await post('/v1/chat/completions', body, headers), 400);
        expect(generations(openai)).toBe(before);
      },
    );

    it.each(JUNK.filter((j) => !j.name.includes('response schema')))(
      '$name on /v1/messages is a 400 invalid_request_error',
      async ({ body, headers }) => {
        const before = generations(openai, anthropic);
        const response = await post('/v1/messages', body, headers);
        const text = await response.text();
        expect(response.status, text.slice(0, 300)).toBe(400);
        expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
        expect(generations(openai, anthropic)).toBe(before);
      },
    );

    it('records no usage for any of them, and the key still works', async () => {
      expect(await cluster.db.usageEvent.count({ where: { apiKeyId: member.keyId } })).toBe(0);
      const response = await post('/v1/chat/completions', JSON.stringify(ok));
      expect(response.status).toBe(200);
    });
  });

  describe('keys', () => {
    it('no key, a malformed key and an unknown key are each a 401 invalid_api_key', async () => {
      const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      const none = await fetch(`${server.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      // RFC 9110: a 401 says how to authenticate.
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="switchyard"');
      expect(await expectOpenAIError(none, 401)).toMatchObject({ code: 'invalid_api_key' });
      for (const secret of ['x', `sk-sy-${'0'.repeat(40)}`, 'a'.repeat(5_000)]) {
        expect(await expectOpenAIError(await post('/v1/chat/completions', body, {}, secret), 401, secret.slice(0, 20)));
      }
    });

    it('a key whose allowedModels exclude the model is refused (403/404) in OpenAI’s shape, before any upstream call', async () => {
      const input = {
        userId: encodeGlobalId('User', member.userId),
        name: 'mini only',
        allowedModels: ['gpt-4o-mini'],
      };
      const created = await cluster.admin<{ createApiKey: { secret: string } }>(CREATE_KEY, { input });
      const secret = created.data?.createApiKey.secret as string;
      const before = generations(openai);
      const refused = await post(
        '/v1/chat/completions',
        JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
        {},
        secret,
      );
      await expectOpenAIError(refused, [403, 404]);
      const sdk = new OpenAI({ apiKey: secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
      await expect(
        sdk.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true }),
      ).rejects.toSatisfy((e) => e instanceof OpenAI.PermissionDeniedError || e instanceof OpenAI.NotFoundError);
      expect(generations(openai)).toBe(before);
      // The model it may use works.
      const allowed = await sdk.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(allowed.choices[0]?.message.content).toBe('echo: x');
      // count_tokens answers for a model the key may send to only, as /v1/messages does.
      const counted = (model: string) =>
        post(
          '/v1/messages/count_tokens',
          JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
          {},
          secret,
        );
      expect((await counted('gpt-4o-mini')).status).toBe(200);
      expect((await counted('gpt-4o')).status).toBe(403);
      const unknown = await counted('no-such-model');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    });

    it('a key revoked mid-stream: the running stream stops with an authentication error and is charged what it used; the next request is a 401', async () => {
      const revoked = await cluster.member('revoked-mid-stream');
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      // The upstream holds its reply after the first chunks: only the revocation can end the stream early.
      openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i >= 2 ? held : undefined) });
      const sdk = new OpenAI({ apiKey: revoked.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
      let text = '';
      let thrown: unknown;
      try {
        const stream = await sdk.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'one two three four five' }],
          stream: true,
        });
        try {
          for await (const chunk of stream) {
            const content = chunk.choices[0]?.delta.content ?? '';
            if (text === '' && content !== '') {
              const done = await cluster.admin(REVOKE_KEY, { id: encodeGlobalId('ApiKey', revoked.keyId) });
              expect(done.errors).toBeUndefined();
            }
            text += content;
          }
        } catch (error) {
          thrown = error;
        }
      } finally {
        release();
      }
      expect(thrown).toBeInstanceOf(OpenAI.APIError);
      expect(thrown).toMatchObject({ code: 'invalid_api_key', message: expect.stringContaining('revoked') });
      expect(text).not.toBe('');
      expect(text).not.toBe('echo: one two three four five');
      await expect(
        sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] }),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const events = await eventually(
        () => cluster.db.usageEvent.findMany({ where: { apiKeyId: revoked.keyId } }),
        (rows) => rows.length === 1,
        { what: "the revoked key's one usage event" },
      );
      expect(events[0]?.status).toBe('CANCELLED');
      expect(events[0]?.promptTokens).toBeGreaterThan(0);
    });
  });

  describe('slow and large bodies', () => {
    const head = (path: string, secret: string, length: number) =>
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\nx-api-key: ${secret}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    it.each(['/v1/chat/completions', '/v1/messages', '/v1/embeddings'])(
      'a body sent a byte a second to %s is a 408 after the configured body timeout, and the socket closes',
      async (path) => {
        const exchange = rawExchange(server.port, head(path, member.secret, 10_000), { byte: ' ', everyMs: 1_000 });
        try {
          const received = await within(exchange.closed, `the server to close the slow ${path} socket`);
          expect(received).toMatch(/^HTTP\/1\.1 408 /);
          expect(received).toMatch(/did not arrive within/);
        } finally {
          exchange.destroy();
        }
      },
    );

    it.each([
      { what: 'a wrong key', path: '/v1/chat/completions', secret: () => 'sk-sy-nope', status: 401 },
      { what: 'no such route', path: '/v1/chat/nothing', secret: () => member.secret, status: 404 },
      { what: 'a path no API serves', path: '/v1/foo', secret: () => member.secret, status: 404 },
      { what: 'a wrong method', path: '/v1/models', secret: () => member.secret, status: 405 },
    ])(
      'a slow body to $what is refused at once, and the socket does not stay open',
      async ({ path, secret, status }) => {
        const exchange = rawExchange(server.port, head(path, secret(), 10_000), { byte: ' ', everyMs: 1_000 });
        try {
          const received = await within(exchange.closed, 'the server to close the refused slow socket');
          expect(received).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        } finally {
          exchange.destroy();
        }
      },
    );

    it('a chunked body past the limit is a 413 while it is still being sent, not after', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const cap = 200; // MiB: far past the 20 MiB limit, so an answer before it means the limit was enforced while reading
      let sent = 0;
      const answered = await within(
        new Promise<{ status: number; body: string; sentMiB: number }>((resolve, reject) => {
          const request = httpRequest(
            {
              host: '127.0.0.1',
              port: server.port,
              method: 'POST',
              path: '/v1/chat/completions',
              headers: {
                authorization: `Bearer ${member.secret}`,
                'content-type': 'application/json',
                'transfer-encoding': 'chunked',
              },
            },
            (response) => {
              let body = '';
              response.setEncoding('utf8');
              response.on('data', (d: string) => {
                body += d;
              });
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sentMiB: sent }));
              response.on('error', reject);
            },
          );
          request.on('error', () => {}); // the server closes after answering; the answer is what counts
          let responded = false;
          request.on('response', () => {
            responded = true;
          });
          request.write('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');
          const pump = () => {
            while (!responded && sent < cap) {
              sent++;
              if (!request.write(chunk)) return void request.once('drain', pump);
            }
            if (!responded) reject(new Error(`sent ${cap} MiB and the server had not answered`));
          };
          pump();
        }),
        'the 413',
      );
      expect(answered.status).toBe(413);
      expect(JSON.parse(answered.body)).toMatchObject({ error: { type: 'invalid_request_error' } });
      expect(answered.sentMiB).toBeLessThan(cap);
    });

    it('20 requests at once, each near the body limit with two large images: each a 200 or a 408/413/429 in OpenAI’s shape, and /health/live answers meanwhile', async () => {
      // Two ~9.4 MB base64 images: a ~19 MB body, under the 20 MiB limit.
      const image = `data:image/png;base64,${Buffer.alloc(7_000_000, 7).toString('base64')}`;
      const body = Buffer.from(
        JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what are these?' },
                { type: 'image_url', image_url: { url: image } },
                { type: 'image_url', image_url: { url: image } },
              ],
            },
          ],
        }),
      );
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      // The admitted ones wait upstream until /health/live has answered: it answers while they run.
      openai.faults.always({ path: '/v1/chat/completions', gate: () => held });
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      try {
        let settled = 0;
        const requests = Array.from({ length: 20 }, () =>
          post('/v1/chat/completions', body).then(async (response) => {
            const text = await response.text();
            settled++;
            return { status: response.status, text };
          }),
        );
        const live = await within(
          eventually(
            () => fetch(`${server.origin}/health/live`).then((r) => r.status),
            (status) => status === 200,
          ),
          '/health/live',
        );
        expect(live).toBe(200);
        const answeredBeforeHealth = settled;
        release();
        const answers = await within(Promise.all(requests), 'the 20 large requests');
        const statuses = answers.map((a) => a.status);
        for (const answer of answers) {
          // 408: this suite's body timeout is 1.5 s (for the slow-body tests), which a loaded machine can pass.
          expect([200, 408, 413, 429], answer.text.slice(0, 200)).toContain(answer.status);
          const parsed = JSON.parse(answer.text);
          if (answer.status === 200) expect(parsed.choices[0].message.content).toMatch(/^echo: what are these\?/);
          else expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message', 'param', 'type']);
        }
        // Not every request had its answer when /health/live answered: it answered while they ran.
        expect(answeredBeforeHealth).toBeLessThan(20);
        console.info(
          `20 x ${(body.length / 1_048_576).toFixed(1)} MiB bodies: statuses ${JSON.stringify(
            Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length])),
          )}, rss +${((peak - baseline) / 1_048_576).toFixed(0)} MiB (client and server in one process)`,
        );
      } finally {
        clearInterval(sampler);
        release();
        openai.faults.clear();
      }
    });
  });
});

describe.skipIf(!postgresUrl || !redisUrl)('REST streams when Redis or Postgres goes away', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let redisProxy: TcpProxy;
  /** The instance -> proxy (cut: connections refused) -> valve (hold: Postgres silent) -> Postgres. */
  let postgresProxy: TcpProxy;
  let postgresValve: ValveProxy;
  let openai: FakeServer;
  let server: TestServer;
  let logs: LogLine[];
  let file: ReturnType<typeof writeConfigFile>;
  const adminKey = randomBytes(24).toString('hex');
  const cut = { redis: false, postgres: false };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  const restore = async (which: 'redis' | 'postgres') => {
    if (!cut[which]) return;
    cut[which] = false;
    await (which === 'redis' ? redisProxy : postgresProxy).restore();
  };
  const cutOff = async (which: 'redis' | 'postgres') => {
    cut[which] = true;
    await (which === 'redis' ? redisProxy : postgresProxy).cut();
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    scratch = await createScratchDatabase(postgresUrl as string);
    const database = new URL(scratch.url);
    postgresValve = await startValveProxy({ host: database.hostname, port: Number(database.port || 5432) });
    postgresProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(postgresValve.url).port) });
    database.hostname = '127.0.0.1';
    database.port = String(postgresProxy.port);
    const redis = new URL(redisUrl as string);
    redisProxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    redis.hostname = '127.0.0.1';
    redis.port = String(redisProxy.port);
    openai = await startOpenAIFake();
    // Failed settlements are retried every leaseMs / 3.
    file = writeConfigFile({ usage: { leaseMs: 30_000 } });
    ({ server, logs } = await startLoggedServer({
      DATABASE_URL: database.toString(),
      REDIS_URL: redis.toString(),
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      SWITCHYARD_ADMIN_KEY: adminKey,
      SWITCHYARD_CONFIG: file.path,
    }));
  }, 3 * WAIT_MS);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    if (redisProxy) await restore('redis');
    if (postgresProxy) await restore('postgres');
    postgresValve?.release();
    await server?.close();
    await Promise.all([redisProxy?.close(), postgresProxy?.close(), postgresValve?.close(), openai?.close()]);
    await scratch?.drop();
    file?.cleanup();
  }, 3 * WAIT_MS);

  /** A key allowed one stream at a time: the next stream is admitted only once the last one was settled. */
  const oneStreamKey = async (name: string) => {
    const user = await call<{ createUser: { id: string } }>(server, adminKey, CREATE_USER, { input: { name } });
    const userId = user.data?.createUser.id as string;
    const key = await call<{ createApiKey: { secret: string; apiKey: { id: string } } }>(server, adminKey, CREATE_KEY, {
      input: { userId, name: `${name}'s key`, limits: { concurrentStreams: 1 } },
    });
    expect(key.errors).toBeUndefined();
    return {
      secret: key.data?.createApiKey.secret as string,
      keyId: parseGlobalId(key.data?.createApiKey.apiKey.id as string, 'ApiKey'),
    };
  };

  /**
   * Streams a reply whose upstream holds after its first chunks; when the client has text, `cut`
   * runs and the upstream goes on. Returns what the client got, once the stream ended (or the
   * error the SDK raised for an error frame).
   */
  const streamAcross = async (sdk: OpenAI, cutNow: () => Promise<void>) => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    openai.faults.next({ path: '/v1/chat/completions', gate: (i) => (i >= 2 ? held : undefined) });
    let text = '';
    let finish: string | null = null;
    let error: unknown = null;
    try {
      const stream = await sdk.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'one two three four five six' }],
        stream: true,
      });
      try {
        for await (const chunk of stream) {
          const content = chunk.choices[0]?.delta.content ?? '';
          if (text === '' && content !== '') {
            await cutNow();
            release();
          }
          text += content;
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      } catch (e) {
        error = e;
      }
    } finally {
      release();
    }
    return { text, finish, error };
  };

  const sdkFor = (secret: string) => new OpenAI({ apiKey: secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
  const ask = (sdk: OpenAI) =>
    sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'next' }] });

  it(
    'Redis cut mid-stream: the stream ends, the call is settled, and the next request works once Redis is back',
    async () => {
      const key = await oneStreamKey('redis-cut');
      const sdk = sdkFor(key.secret);
      try {
        const result = await within(
          streamAcross(sdk, () => cutOff('redis')),
          'the stream to end with Redis cut',
        );
        // The generation does not need Redis: it finishes (an error frame would be an end too).
        if (result.error) expect(result.error).toBeInstanceOf(OpenAI.APIError);
        else expect(result).toMatchObject({ text: 'echo: one two three four five six', finish: 'stop' });
        await eventually(
          () => server.app.services.completions.running,
          (n) => n === 0,
          { what: 'no call still running' },
        );
        // The settlement Redis could not take is logged (and retried on the store's next tick).
        await eventually(
          () => logs.some((line) => line.level === 'error' && line.message === 'could not settle usage'),
          (found) => found,
          { what: 'the failed settlement in the log' },
        );
        await restore('redis');
        // One stream at a time: admitted once the cut call's slot was settled in Redis.
        const next = await eventually(
          () => ask(sdk).catch((e: unknown) => e),
          (reply) => !(reply instanceof Error),
          { what: 'a request admitted after Redis came back' },
        );
        expect(next).toMatchObject({ choices: [{ message: { content: 'echo: next' } }] });
        expect(unhandled).toEqual([]);
      } finally {
        await restore('redis');
      }
    },
    5 * WAIT_MS,
  );

  it(
    'Postgres cut mid-stream: the client gets its stream’s end, the failed usage write is logged, nothing hangs or goes unhandled',
    async () => {
      const key = await oneStreamKey('postgres-cut');
      const sdk = sdkFor(key.secret);
      const logged = logs.length;
      try {
        const result = await within(
          streamAcross(sdk, () => cutOff('postgres')),
          'the stream to end with Postgres cut',
        );
        expect(result).toMatchObject({ text: 'echo: one two three four five six', finish: 'stop', error: null });
        await eventually(
          () => server.app.services.completions.running,
          (n) => n === 0,
          { what: 'no call still running' },
        );
        const failure = await eventually(
          () => logs.slice(logged).find((line) => line.level === 'error' && line.message === 'could not record a call'),
          (line) => line !== undefined,
          { what: 'the failed usage write in the log' },
        );
        expect(failure).toBeDefined();
        await restore('postgres');
        // Settled though not recorded: the one stream slot is free again.
        const next = await eventually(
          () => ask(sdk).catch((e: unknown) => e),
          (reply) => !(reply instanceof Error),
          { what: 'a request answered after Postgres came back' },
        );
        expect(next).toMatchObject({ choices: [{ message: { content: 'echo: next' } }] });
        expect(unhandled).toEqual([]);
      } finally {
        await restore('postgres');
      }
    },
    5 * WAIT_MS,
  );

  it(
    'Postgres silent mid-stream: the client gets its stream’s end at once, the write gives up after its bound and is logged',
    async () => {
      const key = await oneStreamKey('postgres-silent');
      const sdk = sdkFor(key.secret);
      const logged = logs.length;
      try {
        const result = await within(
          streamAcross(sdk, async () => postgresValve.hold()),
          'the stream to end with Postgres silent',
        );
        expect(result).toMatchObject({ text: 'echo: one two three four five six', finish: 'stop', error: null });
        // The usage write waits for a database that does not answer, up to RECORD_TIMEOUT_MS; then
        // the call ends, logged, and its admission is settled.
        const failure = await eventually(
          () => logs.slice(logged).find((line) => line.level === 'error' && line.message === 'could not record a call'),
          (line) => line !== undefined,
          { what: 'the abandoned usage write in the log' },
        );
        expect(JSON.stringify(failure)).toMatch(/took longer than/);
        await eventually(
          () => server.app.services.completions.running,
          (n) => n === 0,
          { what: 'no call still running' },
        );
        postgresValve.release();
        const next = await eventually(
          () => ask(sdk).catch((e: unknown) => e),
          (reply) => !(reply instanceof Error),
          { what: 'a request answered once Postgres answers again' },
        );
        expect(next).toMatchObject({ choices: [{ message: { content: 'echo: next' } }] });
        expect(unhandled).toEqual([]);
      } finally {
        postgresValve.release();
      }
    },
    5 * WAIT_MS,
  );
});
