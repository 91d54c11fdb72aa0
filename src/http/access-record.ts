import type { IncomingMessage } from 'node:http';
import type { Message } from '../generated/prisma/client.js';
import type { GenerationEnd } from '../metrics/index.js';
import type { MessageEnd } from '../stream-store/types.js';

/**
 * What one request's access-log line says beyond its status and duration, filled in by the layers
 * that learn it (sign-in, GraphQL, a generation's end). Ids only: never a key, a prompt or a variable.
 */
export interface AccessRecord {
  requestId: string;
  traceId: string | undefined;
  userId?: string;
  apiKeyId?: string | null;
  /** `query GetMe`, `subscription messageStream`, `POST /v1/chat/completions`. */
  operation?: string;
  /** The first error code the request ended with (a GraphQL `extensions.code`, a generation's code). */
  code?: string;
  tokens?: { prompt: number; completion: number };
  costUsd?: number;
}

const RECORD = Symbol('switchyard.accessRecord');
type Carrier = IncomingMessage & { [RECORD]?: AccessRecord };

/** Puts the record on its request, for the layers below the access log to fill in. */
export function attachAccessRecord(request: IncomingMessage, record: AccessRecord): void {
  (request as Carrier)[RECORD] = record;
}

/** The request's record; undefined when the access log is off (or for a WebSocket's upgrade request). */
export function accessRecordOf(request: IncomingMessage | undefined): AccessRecord | undefined {
  return request ? (request as Carrier)[RECORD] : undefined;
}

/** Who made the request (ids only). */
export function noteViewer(
  request: IncomingMessage | undefined,
  viewer: { userId: string; apiKeyId?: string | null },
): void {
  const record = accessRecordOf(request);
  if (!record) return;
  record.userId = viewer.userId;
  record.apiKeyId = viewer.apiKeyId ?? null;
}

/** The code a request was refused or failed with (the first one stays). */
export function noteCode(request: IncomingMessage | undefined, code: string): void {
  const record = accessRecordOf(request);
  if (record) record.code ??= code;
}

/** What a generation (or an embedding) that ended within a request adds to its line. */
export type GenerationFigures = Pick<GenerationEnd, 'usage' | 'costNanos' | 'errorCode'>;

/** A generation that ended within the request: its tokens, cost and error code. */
export function noteGeneration(request: IncomingMessage | undefined, end: GenerationFigures): void {
  addGeneration(accessRecordOf(request), end);
}

/**
 * Adds a generation's figures to a record (a request's, or a WebSocket operation's own): tokens
 * and cost add up over the generations and embeddings of the request; the first error code stays.
 */
export function addGeneration(record: AccessRecord | undefined, end: GenerationFigures): void {
  if (!record) return;
  if (end.usage) {
    const before = record.tokens ?? { prompt: 0, completion: 0 };
    record.tokens = {
      prompt: before.prompt + end.usage.promptTokens,
      completion: before.completion + end.usage.completionTokens,
    };
  }
  if (end.costNanos) record.costUsd = (record.costUsd ?? 0) + end.costNanos / 1e9;
  if (end.errorCode) record.code ??= end.errorCode;
}

/**
 * What a stored turn that ended within the request adds to its line (a REST call kept as a
 * conversation turn, a GraphQL `chat` subscription): its message's stored usage and cost, as
 * charged, and the code it failed with.
 */
export function messageFigures(event: MessageEnd, row: Message | null): GenerationFigures {
  const charged = row !== null && (row.promptTokens !== null || row.completionTokens !== null);
  return {
    usage: charged ? { promptTokens: row.promptTokens ?? 0, completionTokens: row.completionTokens ?? 0 } : null,
    costNanos: row?.costUsd == null ? null : Math.round(Number(row.costUsd) * 1e9),
    errorCode: event.kind === 'failed' ? (row?.errorCode ?? event.code) : null,
  };
}
