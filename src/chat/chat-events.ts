/** What `chat` and `messageStream` emit, before GraphQL resolves the terminal events' messages. */
export type ChatEvent =
  | { kind: 'delta'; messageId: string; seq: number; text: string }
  | { kind: 'completed'; messageId: string }
  | { kind: 'failed'; messageId: string; code: string; error: string };

const TERMINAL = new Set(['COMPLETE', 'FAILED', 'CANCELLED']);

export const isTerminal = (status: string) => TERMINAL.has(status);

/** The terminal event that a finished message answers with by itself. */
export function terminalEventOf(message: {
  id: string;
  status: string;
  errorCode: string | null;
  error: string | null;
}): ChatEvent {
  if (message.status === 'COMPLETE') return { kind: 'completed', messageId: message.id };
  return {
    kind: 'failed',
    messageId: message.id,
    code: message.errorCode ?? (message.status === 'CANCELLED' ? 'CANCELLED' : 'UPSTREAM_ERROR'),
    error: message.error ?? (message.status === 'CANCELLED' ? 'Cancelled' : 'The generation failed'),
  };
}
