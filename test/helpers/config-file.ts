import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a SWITCHYARD_CONFIG file for a test; `cleanup` removes it. */
export function writeConfigFile(content: Record<string, unknown>): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  const path = join(dir, 'switchyard.json');
  writeFileSync(path, JSON.stringify(content));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
