// The dependency rules of the house (README, "Layout"). Folders of services/ sit in layers; a
// folder imports only from folders of lower layers (or from itself), so every import runs one
// way. Workflows import only the domain vocabulary and the orchestration contract. `make lint`
// (run by `make test`) refuses a cycle or an import against the grain.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Bottom to top. A folder may import from any folder in a layer below its own. */
export const LAYERS = [
  ['domain'], // the vocabulary: kinds, models, classes, roles, states, reasons, error codes
  ['common'], // DzlError, the logger
  ['orchestration'], // what router, worker and workflows share: inputs, messages, activity interfaces
  ['seal', 'fields'], // the sealed hop and its parts; the field catalogue
  ['pki'], // the CA, certificates, a party's keys
  ['registry', 'consent', 'grpc', 'outbound', 'temporal'], // who is who; consent rules; transports
  ['routing'], // the routing rules, minimisation, funding plans
  ['evidence'], // evidence formats and the offline verifier: no store, no I/O
  ['network', 'store'], // the network folder; repositories (the only code that names a table)
  ['ledger', 'atrest'], // the evidence log the router keeps; parties' encrypted stores
  ['custody', 'lifecycle', 'operator'], // facades: custody of a hop, consent and retention, the registry's changes
  ['router', 'worker', 'parties'], // the processes' own code
  ['runtime'], // wiring
  ['cli', 'demo', 'bench'], // entry points
];

const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));
const allFolders = LAYERS.flat();

const zones = [
  ...allFolders.map((folder) => ({
    target: `./services/${folder}`,
    from: allFolders.filter((other) => other !== folder && layerOf.get(other) >= layerOf.get(folder)).map((other) => `./services/${other}`),
    message: `services/${folder} sits in layer ${layerOf.get(folder)} of eslint.config.mjs; it may import only from lower layers`,
  })),
  {
    target: './workflows',
    from: allFolders.filter((f) => f !== 'domain' && f !== 'orchestration').map((f) => `./services/${f}`),
    message: 'workflows import only services/domain and services/orchestration (deterministic code, ids and codes only)',
  },
  {
    // the router starts workflows by their functions (typed arguments, no name strings)
    target: allFolders.filter((f) => !['router', 'runtime', 'cli', 'demo', 'bench'].includes(f)).map((f) => `./services/${f}`),
    from: ['./workflows'],
    message: 'only the router (and the wiring above it) refers to workflows; everything else shares services/orchestration',
  },
  { target: './services', from: ['./test'], message: 'production code never imports tests: inject an observer instead' },
].filter((z) => z.from.length > 0);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.dzl/**', '.tmp/**', 'test-artifacts/**', 'test/interop/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { 'import-x': importX, '@typescript-eslint': tseslint.plugin },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      // no-cycle parses each dependency: with TypeScript's parser, or it sees no imports at all
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': 'error',
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // the vocabulary depends on nothing, not even a package
    files: ['services/domain/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'services/domain imports nothing outside itself' }] }] },
  },
);
