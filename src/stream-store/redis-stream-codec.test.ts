import { describe, expect, it } from 'vitest';
import { decodeEntries, decodeNotice, EVENT_FIELD, encodeEvent, streamKey } from './redis-stream-codec.js';
import type { MessageStreamEvent } from './types.js';

const id = 'a1b2c3d4-0000-4000-8000-000000000001';
const entry = (entryId: string, json: string): [string, string[]] => [entryId, [EVENT_FIELD, json]];
const notice = (entryId: string, json: string) => `{"id":"${entryId}","e":${json}}`;

describe('encodeEvent', () => {
  it('writes the wire shape of the first release, without the message id or the finished row', () => {
    const row = { id } as never;
    expect(encodeEvent({ kind: 'delta', messageId: id, seq: 3, text: 'a "b"\n' })).toBe(
      '{"type":"delta","seq":3,"text":"a \\"b\\"\\n"}',
    );
    expect(encodeEvent({ kind: 'completed', messageId: id, message: row })).toBe('{"type":"end","status":"COMPLETE"}');
    expect(encodeEvent({ kind: 'failed', messageId: id, code: 'UPSTREAM_ERROR', error: 'boom', message: row })).toBe(
      '{"type":"end","status":"FAILED","code":"UPSTREAM_ERROR","error":"boom"}',
    );
    expect(encodeEvent({ kind: 'failed', messageId: id, code: 'CANCELLED', error: 'Cancelled' })).toBe(
      '{"type":"end","status":"CANCELLED","code":"CANCELLED","error":"Cancelled"}',
    );
  });
});

describe('decodeEntries', () => {
  it('reads back what encodeEvent wrote, each event at its place in the stream', () => {
    const events: MessageStreamEvent[] = [
      { kind: 'delta', messageId: id, seq: 1, text: 'Hel' },
      { kind: 'delta', messageId: id, seq: 2, text: 'lo ✓' },
      { kind: 'failed', messageId: id, code: 'INTERRUPTED', error: 'stopped' },
    ];
    const reply = [
      entry('1-0', encodeEvent(events[0] as MessageStreamEvent)),
      entry('2-0', encodeEvent(events[1] as MessageStreamEvent)),
      entry('2-1', encodeEvent(events[2] as MessageStreamEvent)),
    ];
    expect(decodeEntries(id, reply)).toEqual([
      { pos: 1, event: events[0] },
      { pos: 2, event: events[1] },
      { pos: 2, event: events[2] },
    ]);
    expect(decodeEntries(id, [entry('0-1', encodeEvent({ kind: 'completed', messageId: id }))])).toEqual([
      { pos: 0, event: { kind: 'completed', messageId: id } },
    ]);
    expect(decodeEntries(id, [])).toEqual([]);
  });

  it('round-trips the end of a reply that asked for tools (REQUIRES_ACTION)', () => {
    const encoded = encodeEvent({ kind: 'tool-calls', messageId: id, message: { id } as never });
    expect(encoded).toBe('{"type":"end","status":"REQUIRES_ACTION"}');
    expect(decodeEntries(id, [entry('2-1', encoded)])).toEqual([
      { pos: 2, event: { kind: 'tool-calls', messageId: id } },
    ]);
  });

  it('names an end written by an earlier version without code or error by its status', () => {
    const end = (status: string) => decodeEntries(id, [entry('4-1', `{"type":"end","status":"${status}"}`)])[0]?.event;
    expect(end('COMPLETE')).toEqual({ kind: 'completed', messageId: id });
    expect(end('FAILED')).toEqual({ kind: 'failed', messageId: id, code: 'FAILED', error: 'FAILED' });
    expect(end('CANCELLED')).toEqual({ kind: 'failed', messageId: id, code: 'CANCELLED', error: 'CANCELLED' });
    // A code without an error (or the reverse) keeps what it has.
    expect(decodeEntries(id, [entry('4-1', '{"type":"end","status":"FAILED","code":"X"}')])[0]?.event).toEqual({
      kind: 'failed',
      messageId: id,
      code: 'X',
      error: 'FAILED',
    });
    // A completed end drops a stray code: nothing failed.
    expect(decodeEntries(id, [entry('4-1', '{"type":"end","status":"COMPLETE","code":"X"}')])[0]?.event).toEqual({
      kind: 'completed',
      messageId: id,
    });
  });

  it.each([
    ['a delta under another seq', entry('2-0', '{"type":"delta","seq":3,"text":"x"}')],
    ['a delta in an end slot', entry('3-1', '{"type":"delta","seq":3,"text":"x"}')],
    ['an end in a delta slot', entry('3-0', '{"type":"end","status":"COMPLETE"}')],
    ['an entry ID Redis made up', entry('1732000000000-0', '{"type":"delta","seq":1,"text":"x"}')],
    ['a third sequence part', entry('3-2', '{"type":"end","status":"COMPLETE"}')],
    ['an unknown status', entry('3-1', '{"type":"end","status":"DONE"}')],
    ['a seq of 0', entry('0-0', '{"type":"delta","seq":0,"text":"x"}')],
    ['a text that is not a string', entry('1-0', '{"type":"delta","seq":1,"text":7}')],
    ['JSON cut off', entry('1-0', '{"type":"delta","seq":1,"te')],
    ['another field', ['1-0', ['x', '{"type":"delta","seq":1,"text":"x"}']]],
    ['the field name only as a value', ['1-0', ['x', EVENT_FIELD]]],
  ])('refuses %s as a malformed entry', (_, bad) => {
    expect(() => decodeEntries(id, [bad])).toThrow(`message ${id}: malformed stream entry ${bad[0]}`);
  });

  it('refuses a reply that is not a list of entries', () => {
    for (const reply of [null, 'OK', [['1-0', 'e']], [[1, ['e', '{}']]]]) {
      expect(() => decodeEntries(id, reply)).toThrow(`message ${id}: unexpected stream reply`);
    }
  });
});

describe('decodeNotice', () => {
  it('reads a notice as the scripts publish it, taking the message id from the channel', () => {
    const delta = { kind: 'delta', messageId: id, seq: 5, text: 'x' } as const;
    expect(decodeNotice(streamKey(id), notice('5-0', encodeEvent(delta)))).toEqual({ pos: 5, event: delta });
    expect(decodeNotice(streamKey(id), notice('5-1', '{"type":"end","status":"CANCELLED"}'))).toEqual({
      pos: 5,
      event: { kind: 'failed', messageId: id, code: 'CANCELLED', error: 'CANCELLED' },
    });
  });

  it('ignores junk, a channel of someone else and a notice whose ID and event disagree', () => {
    const json = '{"type":"delta","seq":1,"text":"x"}';
    expect(decodeNotice(streamKey(id), 'not a notice')).toBeUndefined();
    expect(decodeNotice(streamKey(id), '{"e":{}}')).toBeUndefined();
    expect(decodeNotice(streamKey(id), notice('1-0', '"text"'))).toBeUndefined();
    expect(decodeNotice(`other:${id}`, notice('1-0', json))).toBeUndefined();
    expect(decodeNotice(streamKey(id), notice('2-0', json))).toBeUndefined();
    expect(decodeNotice(streamKey(id), notice('1-1', json))).toBeUndefined();
  });
});
