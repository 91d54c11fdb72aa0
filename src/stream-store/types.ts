import type { Message } from '../generated/prisma/client.js';

/**
 * One event of a message's stream: what the generation writes, what the store keeps and
 * replays, what chat emits and what the GraphQL union `MessageStreamEvent` resolves. One type
 * from writer to subscriber; only the Redis codec has a wire shape of its own.
 */
export type MessageStreamEvent = MessageDelta | MessageEnd;

export interface MessageDelta {
  kind: 'delta';
  messageId: string;
  /** 1, 2, 3 ... per message, no gaps. */
  seq: number;
  text: string;
  /** On the first delta only, when tracing is on: the generation's W3C trace context, for followers. */
  traceparent?: string;
}

/** The one terminal event; nothing follows it. */
export type MessageEnd = MessageCompleted | MessageFailed | MessageToolCalls;

export interface MessageCompleted {
  kind: 'completed';
  messageId: string;
  /** The finished row, when the emitter has it at hand; stores never keep it (readers load it). */
  message?: Message;
}

/** Status REQUIRES_ACTION: the reply asked the client to run tools (the calls are on the row). */
export interface MessageToolCalls {
  kind: 'tool-calls';
  messageId: string;
  message?: Message;
}

/** Status FAILED, or CANCELLED when `code` is CANCELLED. */
export interface MessageFailed {
  kind: 'failed';
  messageId: string;
  /** CANCELLED, PROVIDER_UNAVAILABLE, UPSTREAM_ERROR, INTERRUPTED ... */
  code: string;
  error: string;
  message?: Message;
}

/**
 * A subscriber asked for deltas the store no longer keeps (it fell too far behind, or asked for
 * a seq older than the bounded buffer). It can resume from `oldestSeq - 1` or read the stored message.
 */
export class StreamLagError extends Error {
  override name = 'StreamLagError';
  constructor(
    readonly messageId: string,
    readonly requestedAfterSeq: number,
    readonly oldestSeq: number,
  ) {
    super(
      `message ${messageId}: deltas after seq ${requestedAfterSeq} are no longer buffered (oldest kept is ${oldestSeq})`,
    );
  }
}

/**
 * A delta that does not follow the stream's last one. A writer that resends after a lost reply
 * sees `lastSeq >= seq` (its delta is already there); `lastSeq < seq - 1` means the store lost
 * deltas (a Redis restarted without its data).
 */
export class SeqConflictError extends Error {
  override name = 'SeqConflictError';
  constructor(
    readonly messageId: string,
    readonly seq: number,
    readonly lastSeq: number,
  ) {
    super(`message ${messageId}: delta ${seq} does not follow ${lastSeq}`);
  }
}

/**
 * Per-message buffer of a generation's events: the writer appends, any number of readers replay
 * what they missed and then follow live. Readers pull at their own pace, so a slow reader never
 * slows the writer or other readers; the buffer is bounded and a reader that falls behind its
 * start gets a StreamLagError instead of growing memory.
 */
export interface MessageStreamStore {
  /** A generation of this message starts in this process (before its first delta). */
  begin(messageId: string): void;
  /** Appends a delta, whose seq must be the previous seq + 1 (starting at 1). */
  appendDelta(delta: MessageDelta): Promise<void>;
  /** Appends the terminal event (without its `message`). The stream is kept for `endedTtlMs`, then dropped. */
  end(event: MessageEnd): Promise<void>;
  /**
   * Every event with seq > afterSeq in order, then live ones, ending after the terminal event.
   * Waits (without polling) while nothing new exists; returns when `signal` aborts. Throws
   * StreamLagError when a needed delta was trimmed. Never yields a delta twice or skips one.
   */
  read(messageId: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<MessageStreamEvent>;
  /**
   * The deltas with seq > afterSeq held now, in order, without waiting: what readers were given
   * of a stream whose writer died, so the sweep can store that text. Only a store shared between
   * processes outlives its writer, so only such a store has it.
   */
  buffered?(messageId: string, afterSeq: number): Promise<MessageDelta[]>;
  /**
   * Whether the message's stream has deltas and no end yet: a generation is running, perhaps in
   * another process whose rows have not landed. Only a store shared between processes can tell.
   */
  streaming?(messageId: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A store of this process only, which can say whether it holds a message's stream. */
export interface LocalStreamStore extends MessageStreamStore {
  /** Begun, written or ended here, and not yet dropped. */
  has(messageId: string): boolean;
}

/** Text a dead writer sent its readers after the partial text the database holds. */
export interface CrashTail {
  text: string;
  /** The seq of the last delta in `text`. */
  lastSeq: number;
}

/**
 * Where the sweep finds what a dead instance streamed after its last partial write: the shared
 * Redis Stream, or this machine's delta journal (embedded database). Undefined: nothing known.
 */
export interface CrashTails {
  tail(messageId: string, afterSeq: number): Promise<CrashTail | undefined>;
  /** The message is settled; what was kept for it can go. */
  forget(messageId: string): void;
  /** After the start-up sweep: drops whatever earlier processes left behind. */
  prune(): void;
}

/** A process's stream buffer as chat uses it (see createMessageStreams). */
export interface MessageStreams {
  /** What the generations write and the readers follow. */
  store: MessageStreamStore;
  /** What a dead writer streamed after its last partial write, for the sweep. */
  tails: CrashTails;
}

export interface StreamStoreOptions {
  /** Deltas kept per message; older ones are trimmed. */
  maxDeltas?: number;
  /** How long an ended stream stays readable. */
  endedTtlMs?: number;
}
