import { describe, expect, it } from 'vitest';
import { createPiiVault } from './pii-masker.js';
import { strictestPiiMode } from './pii-modes.js';
import { maskPrompt, piiRefusal } from './pii-policy.js';

describe('strictestPiiMode', () => {
  it('takes the most protective mode that applies, off when none does', () => {
    expect(strictestPiiMode()).toBe('off');
    expect(strictestPiiMode('logs', null, undefined)).toBe('logs');
    expect(strictestPiiMode('mask', 'logs', 'off')).toBe('mask');
    expect(strictestPiiMode('off', 'block', 'mask')).toBe('block');
  });
});

describe('maskPrompt', () => {
  it('masks every text of the prompt with one placeholder per value, and leaves the input as it was', () => {
    const messages = [
      { role: 'system' as const, content: 'Context: the customer is jane@example.com' },
      { role: 'user' as const, content: 'Email jane@example.com, card 4111 1111 1111 1111' },
      {
        role: 'assistant' as const,
        content: '',
        toolCalls: [{ id: 'c1', name: 'send', arguments: '{"to":"jane@example.com"}' }],
      },
      { role: 'tool' as const, content: 'sent from 10.1.2.3', toolCallId: 'c1' },
    ];
    const vault = createPiiVault();
    const masked = maskPrompt(messages, vault);
    expect(masked.kinds).toEqual(['CARD', 'EMAIL', 'IP']);
    expect(masked.messages.map((m) => m.content)).toEqual([
      'Context: the customer is [EMAIL_1]',
      'Email [EMAIL_1], card [CARD_1]',
      '',
      'sent from [IP_1]',
    ]);
    expect(masked.messages[2]?.toolCalls?.[0]?.arguments).toBe('{"to":"[EMAIL_1]"}');
    expect(messages[1]?.content).toBe('Email jane@example.com, card 4111 1111 1111 1111');
    expect(vault.restore('Done for [EMAIL_1].')).toBe('Done for jane@example.com.');
  });

  it('refuses with PII_DETECTED naming the kinds, never the values', () => {
    const error = piiRefusal(['EMAIL', 'SECRET']);
    expect(error.code).toBe('PII_DETECTED');
    expect(error.details).toEqual({ kinds: ['EMAIL', 'SECRET'] });
    expect(error.message).not.toMatch(/@/);
  });
});
