import { z } from 'zod';
import type { StreamEvent } from './types.js';

/**
 * One stored or published event with its place in the stream: a delta's `pos` is its seq; the
 * end event's `pos` is the last delta's seq (its entry ID is `<pos>-1`, right after `<pos>-0`).
 */
export interface PlacedEvent {
  pos: number;
  event: StreamEvent;
}

/** Both the stream key and the pub/sub channel of a message: one name, two namespaces. */
export const streamKey = (messageId: string) => `switchyard:stream:${messageId}`;

/** The single field of every stream entry: the event as JSON. */
export const EVENT_FIELD = 'e';

const deltaSchema = z.object({
  type: z.literal('delta'),
  seq: z.number().int().positive(),
  text: z.string(),
});

const endSchema = z.object({
  type: z.literal('end'),
  status: z.enum(['COMPLETE', 'FAILED', 'CANCELLED']),
  code: z.string().optional(),
  error: z.string().optional(),
});

const eventSchema = z.discriminatedUnion('type', [deltaSchema, endSchema]);

const entriesSchema = z.array(z.tuple([z.string(), z.array(z.string())]));

const noticeSchema = z.object({ id: z.string(), e: z.unknown() });

const ENTRY_ID = /^(\d{1,15})-([01])$/;

/** What the Lua scripts store: only the fields of the contract, so readers validate the same shape. */
export function encodeEvent(event: StreamEvent): string {
  if (event.type === 'delta') return JSON.stringify({ type: 'delta', seq: event.seq, text: event.text });
  const { status, code, error } = event;
  return JSON.stringify({ type: 'end', status, code, error });
}

/** Checks that an entry ID and its event agree (`n-0` holds delta n, `n-1` an end); undefined if not. */
function place(id: string, value: unknown): PlacedEvent | undefined {
  const match = ENTRY_ID.exec(id);
  const parsed = eventSchema.safeParse(value);
  if (!match || !parsed.success) return undefined;
  const pos = Number(match[1]);
  const event = parsed.data;
  if (event.type === 'delta') return match[2] === '0' && event.seq === pos ? { pos, event } : undefined;
  if (match[2] !== '1') return undefined;
  const end: StreamEvent = { type: 'end', status: event.status };
  if (event.code !== undefined) end.code = event.code;
  if (event.error !== undefined) end.error = event.error;
  return { pos, event: end };
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
    const placed = raw === undefined ? undefined : place(id, parseJson(raw));
    if (!placed) throw new Error(`message ${messageId}: malformed stream entry ${id}`);
    return placed;
  });
}

/**
 * Decodes a pub/sub notice `{"id":"<entry id>","e":<event>}`. Junk yields undefined: a reader
 * that misses a notice only sees a gap, which it fills from the stream.
 */
export function decodeNotice(message: string): PlacedEvent | undefined {
  const notice = noticeSchema.safeParse(parseJson(message));
  return notice.success ? place(notice.data.id, notice.data.e) : undefined;
}
