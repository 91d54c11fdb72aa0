import type { Message } from '../generated/prisma/client.js';
import type { EndEvent } from '../stream-store/types.js';

/**
 * What `chat` and `messageStream` emit. A terminal event carries its finished row when it is at
 * hand (read from or just written to the database); GraphQL loads it otherwise.
 */
export type ChatEvent =
  | { kind: 'delta'; messageId: string; seq: number; text: string }
  | { kind: 'completed'; messageId: string; message?: Message }
  | { kind: 'failed'; messageId: string; code: string; error: string; message?: Message };

const TERMINAL = new Set(['COMPLETE', 'FAILED', 'CANCELLED']);

export const isTerminal = (status: string) => TERMINAL.has(status);

interface FinishedMessage {
  id: string;
  status: string;
  errorCode: string | null;
  error: string | null;
}

/** The terminal event that a finished message answers with by itself. */
export function terminalEventOf(message: Message): ChatEvent {
  const end = endEventOf(message);
  if (end.status === 'COMPLETE') return { kind: 'completed', messageId: message.id, message };
  return { kind: 'failed', messageId: message.id, code: end.code as string, error: end.error as string, message };
}

/** The stream's end event for a finished message. */
export function endEventOf(message: FinishedMessage): EndEvent {
  if (message.status === 'COMPLETE') return { type: 'end', status: 'COMPLETE' };
  const cancelled = message.status === 'CANCELLED';
  return {
    type: 'end',
    status: cancelled ? 'CANCELLED' : 'FAILED',
    code: message.errorCode ?? (cancelled ? 'CANCELLED' : 'UPSTREAM_ERROR'),
    error: message.error ?? (cancelled ? 'Cancelled' : 'The generation failed'),
  };
}

/** The end of a stream whose message was deleted with its conversation. */
export const DELETED: EndEvent = {
  type: 'end',
  status: 'CANCELLED',
  code: 'CANCELLED',
  error: 'The conversation was deleted',
};
