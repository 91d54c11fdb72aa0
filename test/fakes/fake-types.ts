import type { IncomingHttpHeaders } from 'node:http';
import type { FaultController } from './fake-faults.js';
import type { RequestOutcome } from './fake-response.js';
import type { PromptCacheScript, ReplyScript } from './fake-script.js';

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
  /** Prompt tokens reported as cache reads and writes (OpenAI reports reads only). Default none. */
  promptCache?: PromptCacheScript;
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
  promptCache: PromptCacheScript | undefined;
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
  /** What later replies report as cached prompt tokens; undefined: none. */
  setPromptCache(cache: PromptCacheScript | undefined): void;
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
