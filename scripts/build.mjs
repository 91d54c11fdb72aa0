// `npm run build`: bundles src/ into dist/ with esbuild, so that `node dist/main.js` runs without a
// TypeScript loader and loads a few files instead of about 1,400 modules (seconds of a cold start).
// Entries: dist/main.js, dist/keys.js (`npm run keys`), and each worker thread's entry where the running code looks for it
// (dist/rag/heavy-worker.js, dist/db/pglite-worker.js). Every module's `import.meta.url` is rewritten
// to where that module would sit in an unbundled dist/ (src/db/database.ts -> dist/db/database.js),
// so paths computed from it (migrations, worker files) are the same from src/ and from the bundle.
// Packages that read files beside themselves or have native parts stay external (node_modules).
// `npm run typecheck` is the type check; every non-TypeScript file under src/ is copied beside.
// `--if-stale` (npm's prestart) builds only when dist/ is missing or src/ changed since the last build.
import { spawnSync } from 'node:child_process';
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
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const migrationsDir = join(root, 'prisma/migrations');
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
  const inputs = [join(root, 'tsconfig.json'), join(root, 'package-lock.json'), fileURLToPath(import.meta.url)];
  // Migrations are applied into the embedded database's template (makePgliteTemplate).
  const migrations = walk(migrationsDir).map((f) => join(migrationsDir, f));
  for (const file of [...files.map((f) => join(src, f)), ...migrations, ...inputs.filter((f) => existsSync(f))]) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(root, file)}\t${size}\t${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

// Unit tests beside their modules (*.test.ts) are neither built nor copied, and editing one does not make dist/ stale.
const files = walk(src)
  .filter((f) => !/\.test\.[mc]?ts$/.test(f))
  .sort();
const stamp = fingerprint(files);
if (process.argv.includes('--if-stale')) {
  const previous = existsSync(join(dist, stampName)) ? readFileSync(join(dist, stampName), 'utf8') : '';
  if (previous === stamp && ['main.js', 'keys.js'].every((file) => existsSync(join(dist, file)))) process.exit(0);
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

/** Bundled entry points, relative to src/: the server, `npm run keys`, and the files worker threads start on. */
const ENTRIES = ['main.ts', 'keys.ts', 'rag/heavy-worker.ts', 'db/pglite-worker.ts', 'db/make-pglite-template.ts'];
/**
 * Left to node_modules: they load files relative to their own location (WASM, data, their worker
 * scripts), have optional native parts, or are one large file already.
 */
const EXTERNAL = ['@electric-sql/*', 'piscina', 'pg-native', 'unpdf'];
// esbuild's CommonJS-in-ESM wrapper calls `require` for node builtins: give it one.
const BANNER =
  "import { createRequire as __sy_createRequire } from 'node:module';\nconst require = __sy_createRequire(import.meta.url);";

/** Rewrites `import.meta.url` in src/ modules to their unbundled dist/ location, relative to `outDir`. */
function moduleUrlPlugin(outDir) {
  return {
    name: 'module-url',
    setup(build) {
      build.onLoad({ filter: /\.[mc]?ts$/ }, (args) => {
        if (!args.path.startsWith(src + sep)) return undefined;
        const contents = readFileSync(args.path, 'utf8');
        if (!contents.includes('import.meta.url')) return undefined;
        const unbundled = join(out, relative(src, args.path)).replace(/\.([mc]?)ts$/, '.$1js');
        const rel = relative(outDir, unbundled).split(sep).join('/');
        const url = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
        return { contents: contents.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

/**
 * dist/db/pglite-template.tar: the data directory a new embedded DATA_DIR starts from, with every
 * migration applied (made by the bundled db/make-pglite-template.js): a fresh start then runs neither
 * initdb (about 9 s of CPU) nor the migrations. Made again only when PGlite, pgvector, a migration
 * or the recipe (src/db/pglite-template.ts) changes.
 */
function makePgliteTemplate(dir) {
  const name = 'pglite-template.tar';
  const versionOf = (pkg) => JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const migrations = createHash('sha256');
  for (const file of walk(migrationsDir).sort())
    migrations.update(`${file}\n`).update(readFileSync(join(migrationsDir, file)));
  const version = [
    `pglite ${versionOf('@electric-sql/pglite')}`,
    `pgvector ${versionOf('@electric-sql/pglite-pgvector')}`,
    `migrations ${migrations.digest('hex')}`,
    // How the template is made (which databases it keeps, the checkpoint) is part of what it is.
    `recipe ${createHash('sha256')
      .update(readFileSync(join(root, 'src/db/pglite-template.ts')))
      .digest('hex')}`,
  ].join('\n');
  const previous = join(dist, 'db', name);
  mkdirSync(dir, { recursive: true });
  if (
    existsSync(previous) &&
    existsSync(`${previous}.version`) &&
    readFileSync(`${previous}.version`, 'utf8') === version
  ) {
    copyFileSync(previous, join(dir, name));
  } else {
    const made = spawnSync(process.execPath, [join(dir, 'make-pglite-template.js'), join(dir, name)], {
      cwd: root,
      stdio: 'inherit',
    });
    if (made.status !== 0) throw new Error('making the PGlite template failed');
  }
  writeFileSync(join(dir, `${name}.version`), version);
}

// Built beside dist/ and swapped in, so a failed build never leaves half a dist/.
const out = `${dist}.tmp-${process.pid}`;
rmSync(out, { recursive: true, force: true });
const compiled = files.filter((f) => /\.[mc]?ts$/.test(f) && !/\.d\.[mc]?ts$/.test(f));
try {
  for (const entry of ENTRIES) {
    const outDir = dirname(join(out, entry));
    await esbuild.build({
      entryPoints: [join(src, entry)],
      outdir: outDir,
      bundle: true,
      // Chunks beside the entry: lazily imported modules (the server, GraphiQL's page) load when asked.
      splitting: true,
      chunkNames: `${entry.replace(/\.ts$/, '').replaceAll('/', '-')}-[hash]`,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      external: EXTERNAL,
      banner: { js: BANNER },
      plugins: [moduleUrlPlugin(outDir)],
      sourcemap: 'linked',
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
  }
  makePgliteTemplate(join(out, 'db'));
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
console.error(
  `built dist/: ${ENTRIES.length} bundles from ${compiled.length} TypeScript files, ${files.length - compiled.length} others copied`,
);
