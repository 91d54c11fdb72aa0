// `npm run build`: compiles src/ into dist/ with the same layout, so that `node dist/main.js` runs
// without a TypeScript loader and dist/db/ still finds ../../prisma/migrations. TypeScript files are
// transpiled one by one (esbuild, well under a second; `npm run typecheck` is the type check), and
// every other file (workers' .js, .json, .wasm) is copied beside them.
// `--if-stale` (npm's prestart) builds only when dist/ is missing or src/ changed since the last build.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stampName = '.build-stamp';

/** Every file under `dir`, as paths relative to it. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

/** Names, sizes and modification times of the inputs: any edit, addition or removal changes it. */
function fingerprint(files) {
  const hash = createHash('sha256');
  for (const file of [...files.map((f) => join(src, f)), join(root, 'tsconfig.json'), fileURLToPath(import.meta.url)]) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(root, file)}\t${size}\t${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

const files = walk(src).sort();
const stamp = fingerprint(files);
if (process.argv.includes('--if-stale')) {
  const previous = existsSync(join(dist, stampName)) ? readFileSync(join(dist, stampName), 'utf8') : '';
  if (previous === stamp && existsSync(join(dist, 'main.js'))) process.exit(0);
  console.error('dist/ is missing or older than src/: building it (npm run build)');
}
if (!existsSync(join(src, 'generated/prisma/client.ts'))) {
  console.error('src/generated/prisma is missing: run `npm run generate` (npm install runs it) before building');
  process.exit(1);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('esbuild is not installed: building needs the dev dependencies (npm install)');
  process.exit(1);
}

// Built beside dist/ and swapped in, so a failed build never leaves half a dist/.
const out = `${dist}.tmp-${process.pid}`;
rmSync(out, { recursive: true, force: true });
const compiled = files.filter((f) => /\.[mc]?ts$/.test(f) && !/\.d\.[mc]?ts$/.test(f));
try {
  await esbuild.build({
    entryPoints: compiled.map((f) => join(src, f)),
    outbase: src,
    outdir: out,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    sourcemap: 'linked',
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'warning',
  });
  for (const file of files) {
    if (compiled.includes(file) || /\.d\.[mc]?ts$/.test(file)) continue;
    mkdirSync(dirname(join(out, file)), { recursive: true });
    copyFileSync(join(src, file), join(out, file));
  }
  writeFileSync(join(out, stampName), stamp);
} catch (error) {
  rmSync(out, { recursive: true, force: true });
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const old = `${dist}.old-${process.pid}`;
try {
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
} catch (error) {
  // Another build (a second `npm start`) swapped its dist/ in between: it is built from the same src/.
  if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(error.code)) throw error;
  rmSync(out, { recursive: true, force: true });
}
rmSync(old, { recursive: true, force: true });
console.error(`built dist/ from ${compiled.length} TypeScript files and ${files.length - compiled.length} others`);
