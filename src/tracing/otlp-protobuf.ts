import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * OTLP `ExportTraceServiceRequest` in protobuf, written in two passes: sizes first (so every
 * length prefix is exact and nothing is moved), then bytes, with strings and ids copied by
 * Buffer's native UTF-8 and hex writers. It produces the same bytes as
 * @opentelemetry/otlp-transformer's serializer (a test holds them equal); that one copies strings a
 * character at a time, which made it most of the exporter's CPU (Prisma's SQL text is long).
 */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  const groups = groupByResourceAndScope(spans);
  const sizes = new Sizes();
  let total = 0;
  for (const group of groups) total += field(resourceSpansSize(group, sizes));
  const writer = new Writer(total);
  sizes.cursor = 0;
  for (const group of groups) {
    writer.tag(1, LEN);
    writeResourceSpans(writer, group, sizes);
  }
  return writer.buffer;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

type Resource = ReadableSpan['resource'];
type Scope = ReadableSpan['instrumentationScope'];
type Link = ReadableSpan['links'][number];
interface ScopeGroup {
  scope: Scope;
  spans: ReadableSpan[];
}
interface ResourceGroup {
  resource: Resource;
  scopes: ScopeGroup[];
}

// Newer scopes carry attributes; the type this SDK version exports does not name them yet.
const scopeAttributes = (scope: Scope) => (scope as { attributes?: Attributes }).attributes;
const scopeDropped = (scope: Scope) => (scope as { droppedAttributesCount?: number }).droppedAttributesCount ?? 0;

function groupByResourceAndScope(spans: readonly ReadableSpan[]): ResourceGroup[] {
  const groups = new Map<Resource, Map<Scope, ScopeGroup>>();
  for (const span of spans) {
    let scopes = groups.get(span.resource);
    if (!scopes) {
      scopes = new Map();
      groups.set(span.resource, scopes);
    }
    let group = scopes.get(span.instrumentationScope);
    if (!group) {
      group = { scope: span.instrumentationScope, spans: [] };
      scopes.set(span.instrumentationScope, group);
    }
    group.spans.push(span);
  }
  return [...groups].map(([resource, scopes]) => ({ resource, scopes: [...scopes.values()] }));
}

/**
 * Message sizes from the first pass, in the order the second pass needs them (each message's size
 * is recorded before its children's, so the writer reads them front to back).
 */
class Sizes {
  readonly list: number[] = [];
  cursor = 0;
  /** Reserves a slot for a message whose size is known only after its children. */
  open(): number {
    this.list.push(0);
    return this.list.length - 1;
  }
  close(slot: number, size: number): number {
    this.list[slot] = size;
    return size;
  }
  next(): number {
    return this.list[this.cursor++] ?? 0;
  }
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}
/** A length-delimited field's bytes: its tag (fields below 16 take one byte) and its length. */
const field = (size: number, tagBytes = 1) => tagBytes + varintSize(size) + size;
const stringField = (value: string) => field(Buffer.byteLength(value));
const flagsOf = (traceFlags: number, isRemote: boolean | undefined) =>
  (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);

function resourceSpansSize({ resource, scopes }: ResourceGroup, sizes: Sizes): number {
  const slot = sizes.open();
  let size = field(resourceSize(resource, sizes));
  for (const group of scopes) size += field(scopeSpansSize(group, sizes));
  if (resource.schemaUrl) size += stringField(resource.schemaUrl);
  return sizes.close(slot, size);
}

function resourceSize(resource: Resource, sizes: Sizes): number {
  const slot = sizes.open();
  return sizes.close(slot, attributesSize(resource.attributes, sizes) + 2);
}

function scopeSpansSize({ scope, spans }: ScopeGroup, sizes: Sizes): number {
  const slot = sizes.open();
  let size = field(scopeSize(scope, sizes));
  for (const span of spans) size += field(spanSize(span, sizes));
  if (scope.schemaUrl) size += stringField(scope.schemaUrl);
  return sizes.close(slot, size);
}

function scopeSize(scope: Scope, sizes: Sizes): number {
  const slot = sizes.open();
  let size = stringField(scope.name);
  if (scope.version) size += stringField(scope.version);
  size += attributesSize(scopeAttributes(scope), sizes);
  const dropped = scopeDropped(scope);
  if (dropped) size += 1 + varintSize(dropped);
  return sizes.close(slot, size);
}

function spanSize(span: ReadableSpan, sizes: Sizes): number {
  const slot = sizes.open();
  const ctx = span.spanContext();
  // trace id, span id, name, two timestamps.
  let size = 18 + 10 + stringField(span.name) + 9 + 9;
  const traceState = ctx.traceState?.serialize();
  if (traceState) size += stringField(traceState);
  if (span.parentSpanContext?.spanId) size += 10;
  if (span.kind !== undefined && span.kind !== null && span.kind + 1 !== 0) size += 2;
  size += attributesSize(span.attributes, sizes);
  size += 1 + varintSize(span.droppedAttributesCount);
  for (const event of span.events) size += field(eventSize(event, sizes));
  size += 1 + varintSize(span.droppedEventsCount);
  for (const link of span.links) size += field(linkSize(link, sizes));
  size += 1 + varintSize(span.droppedLinksCount);
  size += field(statusSize(span.status, sizes));
  // flags: a two-byte tag (field 16) and a fixed32.
  size += 2 + 4;
  return sizes.close(slot, size);
}

function eventSize(event: TimedEvent, sizes: Sizes): number {
  const slot = sizes.open();
  const size =
    9 +
    stringField(event.name) +
    attributesSize(event.attributes, sizes) +
    1 +
    varintSize(event.droppedAttributesCount ?? 0);
  return sizes.close(slot, size);
}

function linkSize(link: Link, sizes: Sizes): number {
  const slot = sizes.open();
  let size = 18 + 10;
  const traceState = link.context.traceState?.serialize();
  if (traceState) size += stringField(traceState);
  size += attributesSize(link.attributes, sizes);
  size += 1 + varintSize(link.droppedAttributesCount ?? 0);
  size += 1 + 4;
  return sizes.close(slot, size);
}

function statusSize(status: ReadableSpan['status'], sizes: Sizes): number {
  const slot = sizes.open();
  let size = 1 + varintSize(status.code);
  if (status.message) size += stringField(status.message);
  return sizes.close(slot, size);
}

function attributesSize(attributes: Attributes | undefined, sizes: Sizes): number {
  let size = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    size += field(keyValueSize(key, attributes[key], sizes));
  }
  return size;
}

function keyValueSize(key: string, value: AttributeValue | undefined, sizes: Sizes): number {
  const slot = sizes.open();
  return sizes.close(slot, stringField(key) + field(anyValueSize(value, sizes)));
}

function anyValueSize(value: unknown, sizes: Sizes): number {
  const slot = sizes.open();
  let size = 0;
  if (typeof value === 'string') size = stringField(value);
  else if (typeof value === 'boolean') size = 2;
  else if (typeof value === 'number') size = isInt64(value) ? 1 + int64Size(value) : 9;
  else if (value instanceof Uint8Array) size = field(value.length);
  else if (Array.isArray(value)) {
    const arraySlot = sizes.open();
    let arraySize = 0;
    for (const item of value) arraySize += field(anyValueSize(item, sizes));
    size = field(sizes.close(arraySlot, arraySize));
  } else if (typeof value === 'object' && value !== null) {
    const listSlot = sizes.open();
    let listSize = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      listSize += field(keyValueSize(key, (value as Record<string, AttributeValue>)[key], sizes));
    }
    size = field(sizes.close(listSlot, listSize));
  }
  return sizes.close(slot, size);
}

const isInt64 = (value: number) => Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX;
const int64Size = (value: number) => (value < 0 ? 10 : varintSize(value));

class Writer {
  readonly buffer: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  tag(fieldNumber: number, wireType: number): void {
    this.varint((fieldNumber << 3) | wireType);
  }

  varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.pos++] = v;
  }

  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.buffer[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.pos++] = Number(v);
  }

  string(fieldNumber: number, value: string): void {
    this.tag(fieldNumber, LEN);
    this.varint(Buffer.byteLength(value));
    this.pos += this.buffer.write(value, this.pos, 'utf8');
  }

  bytes(fieldNumber: number, value: Uint8Array): void {
    this.tag(fieldNumber, LEN);
    this.varint(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** A trace or span id: hex in the API, bytes on the wire. */
  id(fieldNumber: number, hex: string): void {
    this.tag(fieldNumber, LEN);
    this.varint(hex.length / 2);
    this.pos += this.buffer.write(hex, this.pos, 'hex');
  }

  message(fieldNumber: number, size: number): void {
    this.tag(fieldNumber, LEN);
    this.varint(size);
  }

  double(value: number): void {
    this.buffer.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  fixed32(value: number): void {
    this.buffer.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /**
   * HrTime as fixed64 nanoseconds since the epoch. seconds * 1e9 passes 2^53, so seconds is split
   * at 2^16 and each part multiplied alone (every product stays exact).
   */
  time([seconds, nanos]: HrTime): void {
    const upper = Math.floor(seconds / 0x10000) * 1e9;
    const low = (upper % 0x10000) * 0x10000 + (seconds % 0x10000) * 1e9 + nanos;
    const carry = Math.floor(low / 0x100000000);
    this.buffer.writeUInt32LE(low % 0x100000000, this.pos);
    this.buffer.writeUInt32LE(Math.floor(upper / 0x10000) + carry, this.pos + 4);
    this.pos += 8;
  }
}

function writeResourceSpans(writer: Writer, { resource, scopes }: ResourceGroup, sizes: Sizes): void {
  writer.varint(sizes.next());
  writer.message(1, sizes.next());
  writeAttributes(writer, 1, resource.attributes, sizes);
  writer.tag(2, VARINT);
  writer.varint(0);
  for (const group of scopes) {
    writer.message(2, sizes.next());
    writer.message(1, sizes.next());
    writer.string(1, group.scope.name);
    if (group.scope.version) writer.string(2, group.scope.version);
    writeAttributes(writer, 3, scopeAttributes(group.scope), sizes);
    const dropped = scopeDropped(group.scope);
    if (dropped) {
      writer.tag(4, VARINT);
      writer.varint(dropped);
    }
    for (const span of group.spans) writeSpan(writer, span, sizes);
    if (group.scope.schemaUrl) writer.string(3, group.scope.schemaUrl);
  }
  if (resource.schemaUrl) writer.string(3, resource.schemaUrl);
}

function writeSpan(writer: Writer, span: ReadableSpan, sizes: Sizes): void {
  writer.message(2, sizes.next());
  const ctx = span.spanContext();
  writer.id(1, ctx.traceId);
  writer.id(2, ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) writer.string(3, traceState);
  if (span.parentSpanContext?.spanId) writer.id(4, span.parentSpanContext.spanId);
  writer.string(5, span.name);
  const kind = span.kind === undefined || span.kind === null ? 0 : span.kind + 1;
  if (kind !== 0) {
    writer.tag(6, VARINT);
    writer.varint(kind);
  }
  writer.tag(7, I64);
  writer.time(span.startTime);
  writer.tag(8, I64);
  writer.time(span.endTime);
  writeAttributes(writer, 9, span.attributes, sizes);
  writer.tag(10, VARINT);
  writer.varint(span.droppedAttributesCount);
  for (const event of span.events) {
    writer.message(11, sizes.next());
    writer.tag(1, I64);
    writer.time(event.time);
    writer.string(2, event.name);
    writeAttributes(writer, 3, event.attributes, sizes);
    writer.tag(4, VARINT);
    writer.varint(event.droppedAttributesCount ?? 0);
  }
  writer.tag(12, VARINT);
  writer.varint(span.droppedEventsCount);
  for (const link of span.links) {
    writer.message(13, sizes.next());
    writer.id(1, link.context.traceId);
    writer.id(2, link.context.spanId);
    const linkState = link.context.traceState?.serialize();
    if (linkState) writer.string(3, linkState);
    writeAttributes(writer, 4, link.attributes, sizes);
    writer.tag(5, VARINT);
    writer.varint(link.droppedAttributesCount ?? 0);
    writer.tag(6, I32);
    writer.fixed32(flagsOf(link.context.traceFlags, link.context.isRemote));
  }
  writer.tag(14, VARINT);
  writer.varint(span.droppedLinksCount);
  writer.message(15, sizes.next());
  if (span.status.message) writer.string(2, span.status.message);
  writer.tag(3, VARINT);
  writer.varint(span.status.code);
  writer.tag(16, I32);
  writer.fixed32(flagsOf(ctx.traceFlags, span.parentSpanContext?.isRemote));
}

function writeAttributes(writer: Writer, fieldNumber: number, attributes: Attributes | undefined, sizes: Sizes): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    writeKeyValue(writer, fieldNumber, key, attributes[key], sizes);
  }
}

function writeKeyValue(writer: Writer, fieldNumber: number, key: string, value: unknown, sizes: Sizes): void {
  writer.message(fieldNumber, sizes.next());
  writer.string(1, key);
  writer.message(2, sizes.next());
  writeAnyValue(writer, value, sizes);
}

function writeAnyValue(writer: Writer, value: unknown, sizes: Sizes): void {
  if (typeof value === 'string') writer.string(1, value);
  else if (typeof value === 'boolean') {
    writer.tag(2, VARINT);
    writer.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (isInt64(value)) {
      writer.tag(3, VARINT);
      writer.int64(value);
    } else {
      writer.tag(4, I64);
      writer.double(value);
    }
  } else if (value instanceof Uint8Array) writer.bytes(7, value);
  else if (Array.isArray(value)) {
    writer.message(5, sizes.next());
    for (const item of value) {
      writer.message(1, sizes.next());
      writeAnyValue(writer, item, sizes);
    }
  } else if (typeof value === 'object' && value !== null) {
    writer.message(6, sizes.next());
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      writeKeyValue(writer, 1, key, (value as Record<string, unknown>)[key], sizes);
    }
  }
}
