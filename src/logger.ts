import pino from 'pino';
import { redactFields, redactLogMessage } from './privacy/redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Keys whose values are credentials (paths are case-sensitive: header names as Node gives them). */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  '["set-cookie"]',
  '["x-api-key"]',
  '["api-key"]',
  'apiKey',
  'api_key',
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
];
const under = (parent: string, key: string) => (key.startsWith('[') ? `${parent}${key}` : `${parent}.${key}`);

/** A credential as a field, a field of a field (`headers.authorization`), or a request's or error's header. */
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => under('*', key)),
  ...SECRET_KEYS.map((key) => under('*.headers', key)),
];

/**
 * JSON lines on stderr, one event a line (`time`, `level`, `message`, then the fields), with
 * credentials redacted, and personal data found in any text (an upstream error echoing a prompt)
 * replaced by its kind, whatever a key's privacy mode: see src/privacy/README.md. The level comes from the caller (the config), so this module stays below it.
 *
 * @example createLogger('info').warn('redis publish failed', { error })
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const log = pino(
    {
      level,
      base: undefined, // no pid or hostname: the fields each call gives, nothing more
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redactFields },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    write ? { write } : pino.destination({ dest: 2, sync: true }),
  );
  return {
    debug: (message, fields) => log.debug(fields ?? {}, redactLogMessage(message)),
    info: (message, fields) => log.info(fields ?? {}, redactLogMessage(message)),
    warn: (message, fields) => log.warn(fields ?? {}, redactLogMessage(message)),
    error: (message, fields) => log.error(fields ?? {}, redactLogMessage(message)),
  };
}
