import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from './logger.js';

const capture = (level: LogLevel) => {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => lines.push(line));
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
};

describe('createLogger', () => {
  it('writes one JSON object a line: time, level by name, message and the fields', () => {
    const { logger, lines, parsed } = capture('info');
    logger.info('switchyard listening', { url: 'http://127.0.0.1:4000/graphql', redis: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('}\n')).toBe(true);
    expect(parsed()[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      message: 'switchyard listening',
      url: 'http://127.0.0.1:4000/graphql',
      redis: false,
    });
  });

  it('drops events below its level, and everything when silent', () => {
    const warn = capture('warn');
    warn.logger.debug('d');
    warn.logger.info('i');
    warn.logger.warn('w');
    warn.logger.error('e');
    expect(warn.parsed().map((line) => line.level)).toEqual(['warn', 'error']);
    const silent = capture('silent');
    silent.logger.error('e');
    expect(silent.lines).toEqual([]);
  });

  it('logs an Error field as its name, message and stack', () => {
    const { logger, parsed } = capture('error');
    logger.error('bootstrap failed', { error: new TypeError('no table') });
    expect(parsed()[0]?.error).toEqual({
      name: 'TypeError',
      message: 'no table',
      stack: expect.stringMatching(/^TypeError: no table\n/),
    });
  });

  it('redacts credentials: authorization and cookie headers, API keys, secrets and tokens', () => {
    const { logger, lines, parsed } = capture('debug');
    logger.debug('upstream call', {
      authorization: 'Bearer sk-top',
      headers: { authorization: 'Bearer sk-header', 'x-api-key': 'sk-ant', cookie: 'session=1', accept: 'text/plain' },
      request: { headers: { 'set-cookie': 'session=2', 'api-key': 'azure-key', host: 'example.com' } },
      provider: { apiKey: 'sk-config', baseUrl: 'http://upstream' },
      password: 'hunter2',
      token: 'tok',
    });
    expect(lines.join('')).not.toMatch(/sk-|session=|azure-key|hunter2|tok"/);
    expect(parsed()[0]).toMatchObject({
      authorization: '[redacted]',
      headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]', accept: 'text/plain' },
      request: { headers: { 'set-cookie': '[redacted]', 'api-key': '[redacted]', host: 'example.com' } },
      provider: { apiKey: '[redacted]', baseUrl: 'http://upstream' },
      password: '[redacted]',
      token: '[redacted]',
    });
  });
});
