import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

const BLOCK = 512;

/** A NUL-terminated ASCII field of a tar header. */
function field(header: Uint8Array, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString('latin1');
}

const octal = (text: string, fallback: number) => (text.trim() === '' ? fallback : Number.parseInt(text.trim(), 8));

/**
 * Writes the directories and files of an uncompressed ustar archive (the kind PGlite's
 * `dumpDataDir('none')` makes) under `dir`, with plain file writes: several times faster than
 * handing the archive to PGlite, which writes each file through its WASM file system.
 * Anything else (links, devices, names leaving `dir`) is refused rather than guessed at.
 * Trailing zeros are left as a hole (a WAL segment is mostly zeros past its last record).
 * The file named `last` (relative to `dir`) is written after all others: its presence can then mean
 * that the extraction finished.
 */
export function extractTar(archive: Uint8Array, dir: string, last?: string): void {
  const root = resolve(dir);
  let deferred: (() => void) | undefined;
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const prefix = field(header, 345, 155);
    const name = prefix === '' ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`;
    const size = octal(field(header, 124, 12), 0);
    const mode = octal(field(header, 100, 8), 0o600) & 0o777;
    const type = String.fromCharCode(header[156] ?? 0);
    const path = resolve(root, `.${sep}${name}`);
    const inside = relative(root, path);
    if (inside.startsWith('..') || resolve(root, inside) !== path) throw new Error(`tar entry ${name} leaves ${dir}`);
    offset += BLOCK;
    if (type === '5') {
      mkdirSync(path, { recursive: true, mode });
    } else if (type === '0' || type === '\0') {
      if (offset + size > archive.length) throw new Error(`tar entry ${name} is cut short`);
      const contents = archive.subarray(offset, offset + size);
      const write = () => {
        mkdirSync(dirname(path), { recursive: true });
        writeSparse(path, contents, mode);
      };
      if (last !== undefined && inside === last) deferred = write;
      else write();
    } else {
      throw new Error(`tar entry ${name} has unsupported type ${JSON.stringify(type)}`);
    }
    offset += Math.ceil(size / BLOCK) * BLOCK;
  }
  deferred?.();
}

/** Writes `contents` to a new file, its trailing zeros as a hole: same bytes read back, fewer written. */
function writeSparse(path: string, contents: Uint8Array, mode: number): void {
  let end = contents.length;
  while (end > 0 && contents[end - 1] === 0) end--;
  const fd = openSync(path, 'w', mode);
  try {
    for (let written = 0; written < end; ) written += writeSync(fd, contents, written, end - written);
    if (end < contents.length) ftruncateSync(fd, contents.length);
  } finally {
    closeSync(fd);
  }
}
