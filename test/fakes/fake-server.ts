import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createFaultController, type FaultSpec, retryHeaders } from './fake-faults.js';
import { type RequestOutcome, type ResponseWriter, writeFrames, writeJson, writeRaw } from './fake-response.js';
import type { FakeOptions, FakeProtocol, FakeServer, RecordedRequest, Route } from './fake-types.js';

/** Starts a fake on 127.0.0.1 speaking `protocol`. */
export async function startFakeServer(protocol: FakeProtocol, options: FakeOptions = {}): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const settledBy = new WeakMap<RecordedRequest, Promise<RequestOutcome>>();
  const faults = createFaultController();
  const sockets = new Set<Socket>();
  let models = options.models ?? [];
  let reply = options.reply;
  let promptCache = options.promptCache;
  let port = options.port ?? 0;
  const normalize = protocol.normalizeModel ?? ((id: string) => id);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseBody(raw),
      outcome: 'pending',
    };
    requests.push(record);
    const closed = new AbortController();
    settledBy.set(
      record,
      new Promise((resolve) => {
        res.on('close', () => {
          if (record.outcome === 'pending') record.outcome = res.writableFinished ? 'completed' : 'aborted';
          closed.abort();
          resolve(record.outcome);
        });
      }),
    );

    const fault = faults.take(record.path);
    const writer: ResponseWriter = {
      res,
      fault,
      closed: closed.signal,
      headers: protocol.responseHeaders?.() ?? {},
      malformedFrame: protocol.malformedFrame,
      markCut: () => {
        record.outcome = 'cut';
      },
    };
    const error = (status: number, message = STATUS_CODES[status] ?? 'Error', code?: string, spec?: FaultSpec) =>
      writeRaw(
        writer,
        status,
        JSON.stringify(protocol.errorBody(status, message, code)),
        'application/json',
        spec ? retryHeaders(spec) : {},
      );

    if (fault?.reset) {
      writer.markCut();
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined) return error(fault.status, fault.message, undefined, fault);
    if (options.apiKey !== undefined && !protocol.authorized(req.headers, options.apiKey)) {
      return error(401, 'invalid API key', 'invalid_api_key');
    }
    if (typeof record.body === 'string') return error(400, 'request body is not valid JSON');

    const match = findRoute(protocol.routes, record.method, record.path);
    if (!match) return error(404, `no route for ${record.method} ${record.path}`);
    const served = () => new Set(models.map((m) => normalize(m.id)));
    await match.route.handle({
      record,
      body: (record.body ?? {}) as Record<string, unknown>,
      params: match.params,
      models,
      reply,
      promptCache,
      knowsModel: (id) => !options.strictModels || served().has(normalize(id)),
      json: (body, status = 200) => writeJson(writer, status, body),
      stream: (contentType, frames) => writeFrames(writer, contentType, frames),
      error: (status, message, code) => error(status, message, code),
    });
  }

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async function stop(): Promise<void> {
    if (!server.listening) return;
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const record of requests) if (record.outcome === 'pending') record.outcome = 'cut';
    for (const socket of sockets) socket.destroy();
    await closing;
    // Let in-process clients read the FIN before the next request, so their pools drop the dead
    // sockets instead of failing one request with "other side closed".
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  await listen();
  const origin = () => `http://127.0.0.1:${port}`;
  return {
    get url() {
      return origin();
    },
    get baseURL() {
      return origin() + protocol.baseURLPath;
    },
    get port() {
      return port;
    },
    get listening() {
      return server.listening;
    },
    requests,
    faults,
    setModels(next) {
      models = next;
    },
    setReply(next) {
      reply = next;
    },
    setPromptCache(next) {
      promptCache = next;
    },
    lastRequest(path) {
      return requests.findLast((r) => path === undefined || r.path.startsWith(path));
    },
    settled(record) {
      return settledBy.get(record) ?? Promise.resolve(record.outcome);
    },
    stop,
    start: () => (server.listening ? Promise.resolve() : listen()),
    async restart() {
      await stop();
      await listen();
    },
    reset() {
      requests.length = 0;
      faults.clear();
    },
    close: stop,
  };
}

function findRoute(routes: Route[], method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    if (typeof route.path === 'string') {
      if (route.path === path) return { route, params: [] };
      continue;
    }
    const m = route.path.exec(path);
    if (m) return { route, params: m.slice(1).map((p) => decodeURIComponent(p ?? '')) };
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
