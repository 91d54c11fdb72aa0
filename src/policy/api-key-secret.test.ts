import { describe, expect, it } from 'vitest';
import { generateApiKeySecret, hashSecret, isApiKeyShaped, shownPrefix } from './api-key-secret.js';

describe('API key secrets', () => {
  it('are sk-sy- and 40 base62 characters, each draw different', () => {
    const secrets = Array.from({ length: 200 }, generateApiKeySecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^sk-sy-[0-9A-Za-z]{40}$/);
      expect(isApiKeyShaped(secret)).toBe(true);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('use every base62 character about equally often', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      for (const char of generateApiKeySecret().slice(6)) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    // 20,000 draws over 62 characters: about 323 each; a biased modulo would skew the first ones.
    expect(counts.size).toBe(62);
    for (const count of counts.values()) expect(count).toBeGreaterThan(200);
  });

  it('are stored as a SHA-256 hash and shown by a short prefix', () => {
    const secret = generateApiKeySecret();
    expect(hashSecret(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(secret)).not.toContain(secret.slice(6));
    expect(shownPrefix(secret)).toBe(secret.slice(0, 12));
    for (const other of [
      'sk-sy-short',
      `sk-sy-${'a'.repeat(200)}`,
      `Bearer sk-sy-${'a'.repeat(40)}`,
      `sk-sy-${'!'.repeat(40)}`,
    ]) {
      expect(isApiKeyShaped(other)).toBe(false);
    }
  });
});
