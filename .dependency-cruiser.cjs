/**
 * The layering of src/ (issue #14), checked by `npm run lint`. Top to bottom:
 *   edge      main, keys (the keys command), server, app (the composition root), context, services, rest/**,
 *             schema/**, http/**, cli/**
 *   services  chat/**, completions/**, rag/**, memory/**, health/**, catalog/**, policy/**, privacy/pii-policy,
 *             privacy/pii-session (the modes applied to a prompt and its stream)
 *   adapters  providers/**, db/**, pubsub/**, stream-store/**, embeddings/**, workers/**
 *   base      config.ts, config-file.ts, config/**, util/**, errors.ts, logger.ts, generated/**, and the rest of
 *             privacy/** (detecting, masking and redacting text; the modes' names)
 * A module imports from its own layer or the layers below it, never above; adapters do not import
 * each other, except for src/db types and ADAPTER_EXCEPTIONS. Type-only imports count too.
 * Services take database ids: global ids are decoded in src/schema.
 */
const EDGE = '^src/(main|keys|server|app|context|services)[.]ts$|^src/(schema|http|cli|rest)/';
const SERVICES =
  '^src/(chat|completions|rag|memory|health|catalog|policy|usage)/|^src/privacy/pii-(policy|session)[.]ts$';
const ADAPTERS = '^src/(providers|db|pubsub|stream-store|embeddings|workers)/';
const BASE =
  '^src/(config[.]ts|config-file[.]ts|config/|util/|errors[.]ts|logger[.]ts|generated/)|^src/privacy/(pii-detector|pii-masker|pii-modes|redact)[.]ts$';

/** Imports between adapter folders that the layering allows (besides src/db types, below). */
const ADAPTER_EXCEPTIONS = {
  // the stream store's Redis side rides on the pub/sub's clients
  'stream-store': ['^src/pubsub/'],
  // every database session opens with pgvector's HNSW search settings
  db: ['^src/embeddings/hnsw-settings[.]ts$'],
};
const ADAPTER_FOLDERS = ['providers', 'db', 'pubsub', 'stream-store', 'embeddings', 'workers'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'base-imports-nothing-above',
      comment: 'config, util, errors, logger and generated code are the bottom layer: they import only each other.',
      severity: 'error',
      from: { path: BASE },
      to: { path: `${EDGE}|${SERVICES}|${ADAPTERS}` },
    },
    {
      name: 'adapters-import-no-service-or-edge',
      comment:
        'An adapter (providers, db, pubsub, stream-store, embeddings, workers) takes plain options; it knows no service, schema or transport.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: `${EDGE}|${SERVICES}` },
    },
    ...ADAPTER_FOLDERS.map((folder) => ({
      name: 'adapters-stay-apart',
      comment: `An adapter does not import another adapter (here: src/${folder}), except for src/db types and the named exceptions.`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: ADAPTERS, pathNot: [`^src/${folder}/`, '^src/db/', ...(ADAPTER_EXCEPTIONS[folder] ?? [])] },
    })),
    {
      name: 'adapters-use-only-db-types',
      comment: 'Anything may use the types of src/db; another adapter does not call into it.',
      severity: 'error',
      from: { path: ADAPTERS, pathNot: '^src/db/' },
      to: { path: '^src/db/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'services-import-no-edge',
      comment: 'Services never import src/schema, src/http or the composition: they take plain ids and plain values.',
      severity: 'error',
      from: { path: SERVICES },
      to: { path: EDGE },
    },
    {
      name: 'no-circular',
      comment: "A module must not depend on itself through others (Prisma's generated client is left as it comes).",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/generated/' },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    exclude: { path: '[.]test[.]ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'] },
  },
};
