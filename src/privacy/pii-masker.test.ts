import { describe, expect, it } from 'vitest';
import { createPiiVault } from './pii-masker.js';

describe('createPiiVault', () => {
  it('masks with stable placeholders per kind and restores them', () => {
    const vault = createPiiVault();
    const first = vault.mask(
      'Mail jane@example.com or bob@example.org; jane@example.com again. Card 4111 1111 1111 1111.',
    );
    expect(first.text).toBe('Mail [EMAIL_1] or [EMAIL_2]; [EMAIL_1] again. Card [CARD_1].');
    expect(first.kinds.sort()).toEqual(['CARD', 'EMAIL']);
    // A later message of the same conversation reuses the numbering.
    expect(vault.mask('bob@example.org').text).toBe('[EMAIL_2]');
    expect(vault.restore('Wrote to [EMAIL_2] and [EMAIL_1], not [EMAIL_9] or [NAME_1].')).toBe(
      'Wrote to bob@example.org and jane@example.com, not [EMAIL_9] or [NAME_1].',
    );
    expect(vault.size).toBe(3);
  });

  it('restores a streamed reply whatever the split, holding back only a possible placeholder', () => {
    const vault = createPiiVault();
    vault.mask('a@b.io and 415-555-2671');
    const reply = 'Sure: [EMAIL_1], call [PHONE_1]. Arrays like a[0] and [x] stay; [EMAIL_';
    const expected = 'Sure: a@b.io, call 415-555-2671. Arrays like a[0] and [x] stay; [EMAIL_';
    for (let size = 1; size <= reply.length; size++) {
      const restorer = vault.restorer();
      let out = '';
      for (let i = 0; i < reply.length; i += size) out += restorer.push(reply.slice(i, i + size));
      out += restorer.flush();
      expect(out, `pieces of ${size}`).toBe(expected);
    }
  });

  it('releases text at once when no placeholder can be starting', () => {
    const restorer = createPiiVault().restorer();
    expect(restorer.push('plain text, no bracket')).toBe('plain text, no bracket');
    expect(restorer.push('a [b')).toBe('a [b');
    expect(restorer.push(' [EM')).toBe(' ');
    expect(restorer.push('Ac] d')).toBe('[EMAc] d');
  });
});
