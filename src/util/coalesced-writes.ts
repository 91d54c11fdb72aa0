import type { Socket } from 'node:net';

/**
 * Makes the writes of one event-loop turn on `socket` leave in one system call: the socket is
 * corked at the turn's first write and uncorked in a `setImmediate`, after the turn's promise
 * continuations ran. For peers that write a reply in many small pieces across `await`s (Node's
 * own corking ends at the first `process.nextTick`), where each write is a system call and a
 * wake-up of the reader.
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write as (...args: unknown[]) => boolean;
  const destroy = socket.destroy as (...args: unknown[]) => Socket;
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write.apply(socket, args);
  }) as Socket['write'];
  // A last answer written just before a destroy still leaves (node:http's 431 and 400 replies).
  socket.destroy = ((...args: unknown[]) => {
    if (!socket.destroyed) uncork();
    return destroy.apply(socket, args);
  }) as Socket['destroy'];
}
