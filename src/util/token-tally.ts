import { setImmediate as nextTurn } from 'node:timers/promises';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { countPiece, createPieceCounter, MAX_PIECE_CHARS, sliceEnd } from './count-tokens.js';

/**
 * Counting work between two turns of the event loop. BPE costs about 1-2 µs a character of varied
 * text, so a megabyte counted in one go stops every other request for seconds; in turns of this
 * long, a health probe or a stream's next chunk waits at most about this.
 */
export const TURN_MS = 10;

/**
 * Once the total is past the limit, a text is still counted to its end when at most this many of
 * its characters remain (and this many at most, summed over the tally): refusals of a prompt a
 * little too long name its exact count; one far too long is refused without counting the rest.
 */
export const EXACT_SLACK_CHARS = 16_384;

export interface TokenTallyOptions {
  /** Counting stops once the total is past this (see EXACT_SLACK_CHARS). Default: no limit. */
  limit?: number;
  /** Work between turns of the event loop; TURN_MS unless told (tests use 0: a turn after every check). */
  turnMs?: number;
}

/**
 * A running count of one request's prompt, as countTokens counts each text, that gives the event
 * loop back every `turnMs` while it counts, and stops counting once it is past its limit.
 */
export interface TokenTally {
  /** Tokens counted so far: exact unless `exact` is false, then a lower bound past the limit. */
  readonly tokens: number;
  /** Whether the total is past the limit. */
  readonly over: boolean;
  /** False once counting stopped before the end of a text (past the limit, with much left). */
  readonly exact: boolean;
  /** Adds tokens that are not text: per-message framing, images. */
  add(tokens: number): void;
  /** Counts `text` into the total, giving the event loop back between turns. */
  count(text: string): Promise<void>;
  /** Counts `text` into the total at once, for callers that cannot wait (still stops past the limit). */
  countNow(text: string): void;
}

/** Where counting of one text stands: the next piece starts at `next`; a long piece is cut up to `cut`. */
interface Position {
  next: number;
  /** The long piece being counted a slice at a time, and where its next slice starts. */
  piece?: string;
  cut: number;
  /** Past the limit, and the rest is being counted all the same (it was within the slack). */
  finishing?: boolean;
}

/** How often (in pieces or slices) the clock is read: reading it costs about as much as a cached piece. */
const CLOCK_EVERY = 64;

export function createTokenTally(options: TokenTallyOptions = {}): TokenTally {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const turnMs = options.turnMs ?? TURN_MS;
  let tokens = 0;
  let exact = true;
  let slackLeft = EXACT_SLACK_CHARS;
  let turnEnds = performance.now() + turnMs;
  let steps = 0;

  /** Counts from `at` until the text ends (true), the turn is used up or counting stops (false). */
  function step(text: string, at: Position, untilTurnEnds: boolean): boolean {
    const pieces = splitter;
    for (;;) {
      if (tokens > limit && !at.finishing && !finishesWithinSlack(text, at)) {
        exact = false;
        return true;
      }
      if (untilTurnEnds && ++steps % CLOCK_EVERY === 0 && performance.now() >= turnEnds) return false;
      if (at.piece !== undefined) {
        const end = sliceEnd(at.piece, at.cut);
        tokens += countPiece(at.piece.slice(at.cut, end));
        at.cut = end;
        if (end === at.piece.length) at.piece = undefined;
        continue;
      }
      pieces.lastIndex = at.next;
      const match = pieces.exec(text);
      if (match === null) return true;
      const piece = match[0];
      at.next = match.index + piece.length;
      if (piece.length <= MAX_PIECE_CHARS) tokens += cachedCount(piece);
      else {
        at.piece = piece;
        at.cut = 0;
      }
    }
  }

  /** Past the limit: whether this text's rest is within the slack (then it is counted, and uses it). */
  function finishesWithinSlack(text: string, at: Position): boolean {
    const rest = text.length - at.next + (at.piece === undefined ? 0 : at.piece.length - at.cut);
    if (rest > slackLeft) return false;
    slackLeft -= rest;
    at.finishing = true;
    return true;
  }

  const stopped = (text: string) => text === '' || (!exact && tokens > limit);

  return {
    get tokens() {
      return tokens;
    },
    get over() {
      return tokens > limit;
    },
    get exact() {
      return exact;
    },
    add(more) {
      tokens += more;
    },
    async count(text) {
      if (stopped(text)) return;
      const at: Position = { next: 0, cut: 0 };
      while (!step(text, at, true)) {
        await nextTurn();
        turnEnds = performance.now() + turnMs;
      }
    },
    countNow(text) {
      if (!stopped(text)) step(text, { next: 0, cut: 0 }, false);
    },
  };
}

// One shared copy: step reads it only synchronously, setting lastIndex first.
const splitter = new RegExp(O200K_TOKEN_SPLIT_REGEX);

/** Counts of the pieces met, shared by every tally (a Map only added to, started over when full). */
const cachedCount = createPieceCounter();
