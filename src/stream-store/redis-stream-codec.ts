import { z } from 'zod';
import type { MessageEnd, MessageStreamEvent } from './types.js';

/**
 * One stored or published event with its place in the stream: a delta's `pos` is its seq; the
 * end event's `pos` is the last delta's seq (its entry ID is `<pos>-1`, right after `<pos>-0`).
 */
export interface PlacedEvent {
  pos: number;
  event: MessageStreamEvent;
}

const KEY_PREFIX = 'switchyard:stream:';

/** Both the stream key and the pub/sub channel of a message: one name, two namespaces. */
export const streamKey = (messageId: string) => `${KEY_PREFIX}${messageId}`;

/** The single field of every stream entry: the event as JSON. */
export const EVENT_FIELD = 'e';

/**
 * The wire shape, unchanged since the first release so that instances of two versions share
 * streams during a rolling deploy: `{"type":"delta","seq","text"}` and
 * `{"type":"end","status":"COMPLETE"|"FAILED"|"CANCELLED","code"?,"error"?}`, to which #17 added
 * the status REQUIRES_ACTION (an instance older than that reads such an end as malformed, so a
 * rolling deploy should finish before tools are used). The message id is the key's, never stored in an entry.
 */
const deltaSchema = z.object({
  type: z.literal('delta'),
  seq: z.number().int().positive(),
  text: z.string(),
  // The generation's traceparent on the first delta (older instances ignore it).
  tp: z.string().max(256).optional(),
});

const endSchema = z.object({
  type: z.literal('end'),
  status: z.enum(['COMPLETE', 'FAILED', 'CANCELLED', 'REQUIRES_ACTION']),
  code: z.string().optional(),
  error: z.string().optional(),
});

const wireSchema = z.discriminatedUnion('type', [deltaSchema, endSchema]);

const entriesSchema = z.array(z.tuple([z.string(), z.array(z.string())]));

const noticeSchema = z.object({ id: z.string(), e: z.unknown() });

const ENTRY_ID = /^(\d{1,15})-([01])$/;

/** What the Lua scripts store: only the fields of the wire shape, so readers validate the same shape. */
export function encodeEvent(event: MessageStreamEvent): string {
  if (event.kind === 'delta') {
    return JSON.stringify(
      event.traceparent
        ? { type: 'delta', seq: event.seq, text: event.text, tp: event.traceparent }
        : { type: 'delta', seq: event.seq, text: event.text },
    );
  }
  if (event.kind === 'completed') return JSON.stringify({ type: 'end', status: 'COMPLETE' });
  if (event.kind === 'tool-calls') return JSON.stringify({ type: 'end', status: 'REQUIRES_ACTION' });
  const status = event.code === 'CANCELLED' ? 'CANCELLED' : 'FAILED';
  return JSON.stringify({ type: 'end', status, code: event.code, error: event.error });
}

/** An end as read: one written without a code or an error is named by its status. */
function endOf(messageId: string, { status, code, error }: z.infer<typeof endSchema>): MessageEnd {
  if (status === 'COMPLETE') return { kind: 'completed', messageId };
  if (status === 'REQUIRES_ACTION') return { kind: 'tool-calls', messageId };
  return { kind: 'failed', messageId, code: code ?? status, error: error ?? status };
}

/** Checks that an entry ID and its event agree (`n-0` holds delta n, `n-1` an end); undefined if not. */
function place(messageId: string, id: string, value: unknown): PlacedEvent | undefined {
  const match = ENTRY_ID.exec(id);
  const parsed = wireSchema.safeParse(value);
  if (!match || !parsed.success) return undefined;
  const pos = Number(match[1]);
  const wire = parsed.data;
  if (wire.type === 'delta') {
    if (match[2] !== '0' || wire.seq !== pos) return undefined;
    const delta = { kind: 'delta' as const, messageId, seq: wire.seq, text: wire.text };
    return { pos, event: wire.tp ? { ...delta, traceparent: wire.tp } : delta };
  }
  return match[2] === '1' ? { pos, event: endOf(messageId, wire) } : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Decodes an XRANGE / XREVRANGE reply. Our own key holding anything else is corruption: throw. */
export function decodeEntries(messageId: string, reply: unknown): PlacedEvent[] {
  const entries = entriesSchema.safeParse(reply);
  if (!entries.success) throw new Error(`message ${messageId}: unexpected stream reply`);
  return entries.data.map(([id, fields]) => {
    const index = fields.indexOf(EVENT_FIELD);
    const raw = index % 2 === 0 ? fields[index + 1] : undefined;
    const placed = raw === undefined ? undefined : place(messageId, id, parseJson(raw));
    if (!placed) throw new Error(`message ${messageId}: malformed stream entry ${id}`);
    return placed;
  });
}

/**
 * Decodes a pub/sub notice `{"id":"<entry id>","e":<event>}` on a message's channel (its stream
 * key). Junk yields undefined: a reader that misses a notice only sees a gap, which it fills
 * from the stream.
 */
export function decodeNotice(channel: string, message: string): PlacedEvent | undefined {
  const notice = noticeSchema.safeParse(parseJson(message));
  if (!notice.success || !channel.startsWith(KEY_PREFIX)) return undefined;
  return place(channel.slice(KEY_PREFIX.length), notice.data.id, notice.data.e);
}
