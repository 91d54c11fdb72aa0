import type { Message } from '../generated/prisma/client.js';
import type { MessageEnd } from '../stream-store/types.js';

/** Where a generation ends; REQUIRES_ACTION ends its stream too (the next reply is a new message). */
const TERMINAL = new Set(['COMPLETE', 'FAILED', 'CANCELLED', 'REQUIRES_ACTION']);

export const isTerminal = (status: string) => TERMINAL.has(status);

interface FinishedMessage {
  id: string;
  status: string;
  errorCode: string | null;
  error: string | null;
}

/** The end event of a finished message, carrying its row when it is at hand. */
export function endEventOf(message: FinishedMessage, row?: Message): MessageEnd {
  if (message.status === 'COMPLETE') return { kind: 'completed', messageId: message.id, message: row };
  if (message.status === 'REQUIRES_ACTION') return { kind: 'tool-calls', messageId: message.id, message: row };
  const cancelled = message.status === 'CANCELLED';
  return {
    kind: 'failed',
    messageId: message.id,
    code: message.errorCode ?? (cancelled ? 'CANCELLED' : 'UPSTREAM_ERROR'),
    error: message.error ?? (cancelled ? 'Cancelled' : 'The generation failed'),
    message: row,
  };
}

/** The end event that a finished message answers with by itself. */
export const terminalEventOf = (message: Message): MessageEnd => endEventOf(message, message);

/** The end of a stream whose message was deleted with its conversation. */
export const deletedEvent = (messageId: string): MessageEnd => ({
  kind: 'failed',
  messageId,
  code: 'CANCELLED',
  error: 'The conversation was deleted',
});
