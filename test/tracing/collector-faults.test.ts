import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_AT_SHUTDOWN_MS } from '../../src/tracing/create-tracing.js';
import { eventually } from '../helpers/eventually.js';
import { type LogLine, startLoggedServer } from '../helpers/logged-server.js';
import { collect, STREAM_EVENT_FIELDS, shape, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;

/** A collector that accepts connections and never answers: the worst a slow backend can do. */
async function startSilentCollector() {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a collector that is down or never answers', () => {
  let collector: Awaited<ReturnType<typeof startSilentCollector>>;
  let silent: TestServer;
  let silentLogs: LogLine[];
  let refused: TestServer;
  beforeAll(async () => {
    collector = await startSilentCollector();
    const common = { MOCK_TOKEN_DELAY_MS: '0', OTEL_BSP_SCHEDULE_DELAY: '20' };
    // The exporter's own timeout is longer than the flush the server waits for when it stops.
    ({ server: silent, logs: silentLogs } = await startLoggedServer({
      ...common,
      OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    }));
    // Port 9 (discard) on loopback: nothing listens, every export is refused at connect.
    refused = await startTestServer({ ...common, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
  });
  afterAll(async () => {
    await Promise.all([silent?.close(), refused?.close()]);
    await collector?.close();
  });

  const chat = async (server: TestServer, content: string) => {
    const sent = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { content },
    });
    expect(sent.errors).toBeUndefined();
    const client = wsClient(server.wsUrl);
    try {
      const id = sent.data?.sendMessage.assistantMessage.id as string;
      return await collect(client, STREAM, { id }, 'messageStream').done;
    } finally {
      await client.dispose();
    }
  };

  it('chats complete while exports hang or are refused, and each server still shuts down', async () => {
    for (const server of [silent, refused]) {
      for (let i = 0; i < 3; i++) {
        const events = await chat(server, `hello ${i}`);
        expect(shape(events).terminal).toEqual(['MessageCompleted']);
        expect(events.at(-1)?.message).toMatchObject({ status: 'COMPLETE', content: expect.stringMatching(/\S/) });
      }
    }
    await eventually(collector.accepted, (n) => n > 0, { what: 'an export to the silent collector' });
    // Stopping does not wait on a collector that never answers: the last export is given up.
    await Promise.all([silent.close(), refused.close()]);
    expect(
      silentLogs.map((line) => `${line.message}: ${String((line.error as { message?: string })?.message)}`),
    ).toContain(
      `trace export failed at shutdown: trace export unfinished after ${FLUSH_AT_SHUTDOWN_MS} ms; the rest is dropped`,
    );
  });
});
