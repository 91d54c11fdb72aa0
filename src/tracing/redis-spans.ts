import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { Tracing } from './create-tracing.js';

/**
 * Gives every command `client` sends inside a traced request a CLIENT span (`XADD`,
 * `db.system.name=redis`): the stream store, pub/sub and limits all send through ioredis's
 * `sendCommand`. Only the command name is recorded, never keys' values or arguments. Commands with
 * no request around them make no span; nothing is wrapped when tracing is off.
 */
export function traceRedis(client: Redis, tracing: Tracing): void {
  const tracer = tracing.tracer;
  if (!tracer) return;
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    const parent = tracing.active();
    if (!trace.getSpan(parent)) return send(command, stream);
    const name = command.name.toUpperCase();
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis', 'db.operation.name': name } },
      parent,
    );
    command.promise.then(
      () => span.end(),
      (error: unknown) => {
        span.setAttribute('error.type', (error as Error)?.name ?? 'error');
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    );
    return send(command, stream);
  };
}
