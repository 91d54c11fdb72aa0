import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectPii, ibanValid, luhnValid } from './pii-detector.js';

const kindsIn = (text: string) => detectPii(text).map((m) => [m.kind, m.value]);

describe('detectPii', () => {
  it('finds each kind, with the exact value', () => {
    expect(kindsIn('write to jane.doe+news@mail.example.co.uk today')).toEqual([
      ['EMAIL', 'jane.doe+news@mail.example.co.uk'],
    ]);
    expect(kindsIn('call +44 20 7946 0958 or (415) 555-2671 or 415-555-2671')).toEqual([
      ['PHONE', '+44 20 7946 0958'],
      ['PHONE', '(415) 555-2671'],
      ['PHONE', '415-555-2671'],
    ]);
    expect(kindsIn('card 4111 1111 1111 1111, and 5500-0000-0000-0004, and 378282246310005')).toEqual([
      ['CARD', '4111 1111 1111 1111'],
      ['CARD', '5500-0000-0000-0004'],
      ['CARD', '378282246310005'],
    ]);
    // Mastercard's 2-series, Diners (14 digits), JCB, UnionPay: the issuers' own test numbers.
    expect(kindsIn('2223003122003222 30569309025904 3530111333300000 6200000000000005.')).toEqual([
      ['CARD', '2223003122003222'],
      ['CARD', '30569309025904'],
      ['CARD', '3530111333300000'],
      ['CARD', '6200000000000005'],
    ]);
    expect(kindsIn('IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000')).toEqual([
      ['IBAN', 'GB82 WEST 1234 5698 7654 32'],
      ['IBAN', 'DE89370400440532013000'],
    ]);
    expect(kindsIn('SSN 123-45-6789.')).toEqual([['SSN', '123-45-6789']]);
    expect(kindsIn('from 192.168.1.20 and 2001:db8:85a3::8a2e:370:7334 and ::1')).toEqual([
      ['IP', '192.168.1.20'],
      ['IP', '2001:db8:85a3::8a2e:370:7334'],
    ]);
  });

  it('finds secrets: provider keys, cloud keys, bearer tokens, JWTs and private keys', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
    const text = `keys sk-proj-abcdefghijklmnopqrstuvwx, sk-sy-0123456789abcdefghijAB, AKIAIOSFODNN7EXAMPLE,
ghp_${'a'.repeat(36)}; header Authorization: Bearer abc.def-ghi_jkl~mno+pqr/stu; token ${jwt}
${pem}`;
    expect(detectPii(text).map((m) => m.kind)).toEqual(Array(7).fill('SECRET'));
    expect(detectPii(text).map((m) => m.value)).toContain(pem);
    expect(detectPii(text).map((m) => m.value)).toContain(jwt);
  });

  it('leaves ordinary text and code alone: numbers, dates, versions, hashes, ids', () => {
    const corpus = readFileSync(join(import.meta.dirname, '../../test/fixtures/pii/ordinary-corpus.txt'), 'utf8');
    expect(detectPii(corpus)).toEqual([]);
  });

  it('checks the checksums', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
  });

  it('stays linear on hostile input (a long run of near-matches)', () => {
    const hostile = `${'a.'.repeat(50_000)}@${'b-'.repeat(50_000)} ${'1 '.repeat(50_000)} ${'1.'.repeat(50_000)} ${'a:'.repeat(50_000)}`;
    expect(detectPii(hostile)).toEqual([]);
  });
});
