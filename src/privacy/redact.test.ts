import { describe, expect, it } from 'vitest';
import { redactFields, redactForTelemetry } from './redact.js';

describe('redactForTelemetry', () => {
  it('replaces each value by its kind and leaves ordinary text', () => {
    expect(redactForTelemetry('mail jane@example.com from 10.1.2.3, card 4111 1111 1111 1111')).toBe(
      'mail [EMAIL] from [IP], card [CARD]',
    );
    expect(redactForTelemetry('version 1.2.3, order 12345678')).toBe('version 1.2.3, order 12345678');
  });
});

describe('redactFields', () => {
  it('redacts strings at any depth and Errors, but keeps IP addresses (the gateway logs its own)', () => {
    const error = new Error('upstream said: jane@example.com is invalid');
    const out = redactFields({ error, nested: { list: ['ssn 123-45-6789'] }, url: 'http://127.0.0.1:4000', n: 3 });
    expect(out).toMatchObject({
      error: { name: 'Error', message: 'upstream said: [EMAIL] is invalid' },
      nested: { list: ['ssn [SSN]'] },
      url: 'http://127.0.0.1:4000',
      n: 3,
    });
    expect(JSON.stringify(out)).not.toContain('jane@');
  });
});
