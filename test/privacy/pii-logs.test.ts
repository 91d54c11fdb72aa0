/**
 * `logs` and `mask`: what the gateway logs and stores of a failure never holds the prompt's
 * personal data, even when the upstream's error echoes it. A real server logging at debug level
 * into memory, the OpenAI fake, the openai SDK and graphql-ws.
 */
import { createClient } from 'graphql-ws';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { parseGlobalId } from '../../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { collect } from '../helpers/subscribe.js';
import { createTestServer, type TestServer, testConfig, withClient } from '../helpers/test-server.js';

const EMAIL = 'jane.doe@example.com';
const SSN = '123-45-6789';
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) {
  __typename ... on MessageFailed { code error message { id } } } }`;

const backends = [
  { name: 'embedded PGlite', skip: false, services: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl, services: true },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`personal data never reaches logs or stored errors: ${backend.name}`, () => {
    let server: TestServer;
    let openai: FakeServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    let file: ReturnType<typeof writeConfigFile>;
    const lines: string[] = [];

    beforeAll(async () => {
      openai = await startOpenAIFake();
      scratch = backend.services ? await createScratchDatabase(postgresUrl as string) : undefined;
      file = writeConfigFile({ pii: { mode: 'logs' } });
      const config = testConfig({
        ...fakeProviderEnv({ openai }),
        SWITCHYARD_CONFIG: file.path,
        LOG_LEVEL: 'debug',
        ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
      });
      const started = await createTestServer(
        config,
        createLogger('debug', (line) => lines.push(line)),
      );
      await started.ready;
      server = withClient(started);
    });
    afterAll(async () => {
      await server?.close();
      await openai?.close();
      await scratch?.drop();
      file?.cleanup();
    });

    it('an upstream error echoing the prompt is redacted in the REST error, the stored message and the logs', async () => {
      const alice = await keyCaller(server.app.database.prisma, 'alice-logs');
      const client = new OpenAI({ apiKey: alice.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
      // What the fake was sent is the prompt as written: `logs` does not mask upstream.
      openai.faults.next({ path: '/v1/chat/completions', status: 400, message: `Cannot process ${EMAIL} or ${SSN}` });
      const failed = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `mail ${EMAIL}, ssn ${SSN}` }] })
        .then(
          () => new Error('the call succeeded'),
          (error: Error) => error,
        );
      expect(JSON.stringify(openai.lastRequest('/v1/chat/completions')?.body)).toContain(EMAIL);
      expect(failed.message).toContain('Cannot process [EMAIL] or [SSN]');

      openai.faults.next({ path: '/v1/chat/completions', status: 400, message: `Cannot process ${EMAIL}` });
      const ws = createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: alice.authorization },
      });
      const events = await collect<{ __typename: string; error?: string; message?: { id: string } }>(
        ws,
        CHAT,
        { input: { model: 'gpt-4o-mini', content: `mail ${EMAIL}` } },
        'chat',
      ).done.finally(() => ws.dispose());
      const end = events.at(-1);
      expect(end).toMatchObject({ __typename: 'MessageFailed', error: expect.stringContaining('[EMAIL]') });
      const stored = await server.app.database.prisma.message.findUniqueOrThrow({
        where: { id: parseGlobalId(end?.message?.id as string, 'Message') },
      });
      expect(stored.error).toContain('Cannot process [EMAIL]');

      // A server logging at debug level has logged something for these requests, and none of it holds the values.
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain(EMAIL);
      expect(lines.join('\n')).not.toContain(SSN);
    });

    it('the logger itself replaces detected values in messages, fields and errors', () => {
      const logger = createLogger('debug', (line) => lines.push(line));
      const before = lines.length;
      logger.error(`upstream echoed ${EMAIL}`, { error: new Error(`bad ${SSN}`), body: { prompt: EMAIL } });
      const logged = lines.slice(before).join('');
      expect(logged).toContain('upstream echoed [EMAIL]');
      expect(logged).toContain('bad [SSN]');
      expect(logged).not.toContain(EMAIL);
    });
  });
}
