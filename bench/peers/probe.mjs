// Preloaded (`node --import`) into every process the chat benchmark starts (gateways, fake upstream).
// - Answers `{ type: 'memory' }` on the IPC channel with process.memoryUsage(), after a full GC when
//   the process runs with --expose-gc, so the benchmark reads the process's own heap, not just RSS.
// - With BENCH_LOOPBACK_ONLY=1, makes every listen() without a host bind 127.0.0.1 instead of all
//   interfaces (Portkey's bin passes no host to @hono/node-server).
// - Exits when the parent goes away, so a crashed benchmark leaves no process behind.
import net from 'node:net';

if (process.env.BENCH_LOOPBACK_ONLY === '1') {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function loopbackListen(...args) {
    const [first, second, ...rest] = args;
    if (typeof first === 'number' && typeof second !== 'string') {
      const callback = typeof second === 'function' ? [second] : [];
      return listen.call(this, first, '127.0.0.1', ...callback, ...rest);
    }
    if (typeof first === 'object' && first !== null && 'port' in first && !first.host && !first.path) {
      return listen.call(this, { ...first, host: '127.0.0.1' }, ...args.slice(1));
    }
    return listen.apply(this, args);
  };
}

if (process.send) {
  process.on('message', (message) => {
    if (message?.type !== 'memory') return;
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    process.send?.({ type: 'memory', id: message.id, usage: process.memoryUsage() });
  });
  process.channel?.unref();
  process.on('disconnect', () => process.exit(0));
}
