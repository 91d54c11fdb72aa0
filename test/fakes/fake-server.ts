import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createFaultController, type FaultController, type FaultSpec, retryHeaders } from './fake-faults.js';
import { type RequestOutcome, type ResponseWriter, writeFrames, writeJson, writeRaw } from './fake-response.js';
import type { ReplyScript } from './fake-script.js';

/** A model a fake serves; each fake renders it in its own list shape. */
export interface FakeModel {
  id: string;
  contextWindow?: number;
  /** Unix seconds. */
  created?: number;
  ownedBy?: string;
  displayName?: string;
}

/** Everything a test may assert on about one request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  /** Parsed JSON, `undefined` when there was no body, the raw text when it was not JSON. */
  body: unknown;
  /** Updated live: `aborted` means the client closed the connection before the response ended. */
  outcome: RequestOutcome;
}

export interface FakeOptions {
  /** Fixed port; default 0 (any free port). */
  port?: number;
  models?: FakeModel[];
  reply?: ReplyScript;
  /** Answer unknown models with the provider's 404, as the real APIs do. Default false. */
  strictModels?: boolean;
  /** When set, requests without this key get the provider's 401. */
  apiKey?: string;
}

/** What a route handler gets: the parsed request, the fake's state and fault-aware writers. */
export interface RouteContext {
  record: RecordedRequest;
  body: Record<string, unknown>;
  /** Capture groups of a RegExp route path. */
  params: string[];
  models: FakeModel[];
  reply: ReplyScript | undefined;
  /** False only when `strictModels` is on and `id` is not served. */
  knowsModel(id: string): boolean;
  json(body: unknown, status?: number): Promise<void>;
  stream(contentType: string, frames: string[]): Promise<void>;
  error(status: number, message?: string, code?: string): void;
}

export interface Route {
  method: 'GET' | 'POST';
  path: string | RegExp;
  handle(ctx: RouteContext): Promise<void> | void;
}

/** The provider-specific part of a fake. */
export interface FakeProtocol {
  /** Appended to the origin to form the base URL the SDK takes (`/v1` for OpenAI). */
  baseURLPath: string;
  routes: Route[];
  errorBody(status: number, message: string, code?: string): unknown;
  malformedFrame: string;
  authorized(headers: IncomingHttpHeaders, apiKey: string): boolean;
  responseHeaders?(): Record<string, string>;
  /** How a model id is compared with the served list (Ollama adds `:latest`). */
  normalizeModel?(id: string): string;
}

export interface FakeServer {
  /** Origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** What to give the SDK: `url` plus the protocol's base path. */
  readonly baseURL: string;
  readonly port: number;
  readonly listening: boolean;
  readonly requests: RecordedRequest[];
  readonly faults: FaultController;
  setModels(models: FakeModel[]): void;
  setReply(reply: ReplyScript | undefined): void;
  /** The newest request, optionally the newest whose path starts with `path`. */
  lastRequest(path?: string): RecordedRequest | undefined;
  /** Resolves once the request has completed, been aborted by the client or cut by the fake. */
  settled(record: RecordedRequest): Promise<RequestOutcome>;
  /** Stop listening and drop open connections; new connections are refused. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Forget recorded requests and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a fake on 127.0.0.1 speaking `protocol`. */
export async function startFakeServer(protocol: FakeProtocol, options: FakeOptions = {}): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const settledBy = new WeakMap<RecordedRequest, Promise<RequestOutcome>>();
  const faults = createFaultController();
  const sockets = new Set<Socket>();
  let models = options.models ?? [];
  let reply = options.reply;
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
      return error(401, 'invalid x-api-key', 'invalid_api_key');
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

/** Reads a numeric body field, or undefined. */
export function numberField(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  return typeof value === 'number' ? value : undefined;
}

/** Frames one Server-Sent Event, with an `event:` line when the protocol names its events. */
export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`;
}
