/**
 * What a failed health probe tells clients: a short, fixed phrase. Driver messages name hosts,
 * ports, users and database names (`connect ECONNREFUSED 10.0.0.5:5432`), which `/health/ready`
 * and the public `health` query must not echo; the caller logs the original for operators.
 */
export function describeFailure(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection lost';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'timed out';
    case '28P01':
    case '28000':
      return 'authentication failed';
    case '3D000':
      return 'database does not exist';
    case '57P01':
    case '57P03':
      return 'server is shutting down or starting';
  }
  if (typeof message === 'string') {
    if (/did not answer in time|timeout|timed out/i.test(message)) return 'timed out';
    if (/not connected|connection (terminated|closed|ended)/i.test(message)) return 'connection lost';
  }
  return 'probe failed';
}
