import { describe, expect, it } from 'vitest';
import { closeReason } from './websocket.js';

describe('closeReason', () => {
  it('keeps a short reason and cuts a long one to 123 bytes of UTF-8 at a character', () => {
    expect(closeReason('Forbidden: the API key is not valid')).toBe('Forbidden: the API key is not valid');
    const long = closeReason(`Forbidden: ${'é'.repeat(100)}`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long).toMatch(/^Forbidden: é+\.\.\.$/);
    const astral = closeReason(`Forbidden: ${'😀'.repeat(60)}`);
    expect(Buffer.byteLength(astral)).toBeLessThanOrEqual(123);
    expect(astral).not.toMatch(/[\uD800-\uDBFF]\.\.\.$/);
  });
});
