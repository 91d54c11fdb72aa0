// Prints the schema built from the Pothos code to schema.graphql (or checks it with --check).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = `${printSchema(schema)}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== printed) {
    process.stderr.write('schema.graphql is stale: run `npm run generate`\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, printed);
}
