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
  // The level is checked before the message is scanned for personal data: yoga logs at debug
  // several times per request, and the scan of a line that is not written was wasted (~40 µs).
  const at =
    (level: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (log.isLevelEnabled(level)) log[level](fields ?? {}, redactLogMessage(message));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
