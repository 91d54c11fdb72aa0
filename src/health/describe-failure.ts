/**
 * What a failed health probe tells clients: a short, fixed phrase. Driver messages name hosts,
 * ports, users and database names (`Can't reach database server at 10.0.0.5:5432`), which
 * `/health/ready` and the public `health` query must not echo.
 */
export function describeFailure(error: unknown): string {
  const { code, message, meta, cause } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } };
    cause?: { kind?: unknown; originalCode?: unknown };
  };
  // Prisma's driver adapter classifies the failure; node-postgres and ioredis give errno codes.
  const adapter = meta?.driverAdapterError?.cause ?? cause;
  const phrase = phrases[String(adapter?.kind)] ?? phrases[String(adapter?.originalCode)] ?? phrases[String(code)];
  if (phrase) return phrase;
  if (typeof message === 'string') {
    if (/timeout|timed out/i.test(message)) return 'timed out';
    if (/not connected|connection (terminated|closed|ended)/i.test(message)) return 'connection lost';
  }
  return 'probe failed';
}

const phrases: Record<string, string> = {
  DatabaseNotReachable: 'not reachable',
  DatabaseDoesNotExist: 'database does not exist',
  AuthenticationFailed: 'authentication failed',
  SocketTimeout: 'timed out',
  ConnectionClosed: 'connection lost',
  TooManyConnections: 'too many connections',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection lost',
  EPIPE: 'connection lost',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  '53300': 'too many connections',
  '57P01': 'server is shutting down',
  '57P03': 'server is starting up',
};
