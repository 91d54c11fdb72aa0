// Run by `npm run build` from its bundle (dist/db/make-pglite-template.js <file>): writes the data
// directory a new embedded DATA_DIR starts from, as a tar: PGlite's initdb with pgvector and every
// migration applied, recorded as the server records them. A fresh start then skips initdb (about 9 s
// of CPU) and the migrations (about 1 s).
import { writeFileSync } from 'node:fs';
import { createLogger } from '../logger.js';
import { buildPgliteTemplate } from './pglite-template.js';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: make-pglite-template.js <output.tar>');
writeFileSync(file, await buildPgliteTemplate(createLogger('warn')));
