import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractTar } from './extract-tar.js';

/** One ustar entry: a 512-byte header, then the contents padded to 512 bytes. */
function entry(name: string, type: '0' | '5' | '2', contents = '', mode = 0o640): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'latin1');
  header.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  header.write(`${contents.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  const body = Buffer.alloc(Math.ceil(contents.length / 512) * 512);
  body.write(contents, 'latin1');
  return Buffer.concat([header, body]);
}

const end = Buffer.alloc(1024);
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'extract-tar-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('extractTar', () => {
  it('writes directories and files with their contents and modes, names taken relative to the target', () => {
    const dir = tempDir();
    const big = 'x'.repeat(1300);
    extractTar(
      Buffer.concat([
        entry('/base', '5', '', 0o750),
        entry('/base/1/pg_class', '0', big, 0o600),
        entry('/PG_VERSION', '0', '17\n'),
        end,
      ]),
      dir,
    );
    expect(readFileSync(join(dir, 'base/1/pg_class'), 'latin1')).toBe(big);
    expect(readFileSync(join(dir, 'PG_VERSION'), 'latin1')).toBe('17\n');
    expect(statSync(join(dir, 'base/1/pg_class')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'base')).isDirectory()).toBe(true);
  });

  it('reads back files that end in zeros, or are all zeros, byte for byte (their zeros are a hole)', () => {
    const dir = tempDir();
    const tail = `${'w'.repeat(700)}${'\0'.repeat(9000)}`;
    const zeros = '\0'.repeat(4096);
    extractTar(Buffer.concat([entry('/pg_wal/1', '0', tail), entry('/zeros', '0', zeros), end]), dir);
    expect(readFileSync(join(dir, 'pg_wal/1'), 'latin1')).toBe(tail);
    expect(readFileSync(join(dir, 'zeros'), 'latin1')).toBe(zeros);
  });

  it('refuses names that leave the target and entry types it does not know', () => {
    const dir = tempDir();
    expect(() => extractTar(Buffer.concat([entry('../escaped', '0', 'x'), end]), join(dir, 'inner'))).toThrow(/leaves/);
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
    expect(() => extractTar(Buffer.concat([entry('link', '2'), end]), dir)).toThrow(/unsupported type/);
  });

  it('writes the `last` file only once everything else is written: a cut archive leaves it absent', () => {
    const dir = tempDir();
    const whole = Buffer.concat([entry('/PG_VERSION', '0', '17\n'), entry('/base/big', '0', 'y'.repeat(2000)), end]);
    expect(() => extractTar(whole.subarray(0, 1024 + 512 + 600), dir, 'PG_VERSION')).toThrow(/cut short/);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(false);
    extractTar(whole, dir, 'PG_VERSION');
    expect(readFileSync(join(dir, 'PG_VERSION'), 'latin1')).toBe('17\n');
  });
});
