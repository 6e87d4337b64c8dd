// The import graph, checked by `npm run check` (so by `npm test` and CI): which folder may import which.
// README.md's Layout section draws the same picture; change both together.
//
//   mcp/ (and next: inbound HTTP, SMTP, IMAP) → app/ → temporal/, workflows/*.contract.ts, supabase/, core/
//   workers/ (entry points, the composition root) → anything below them
//   workflows/ → workflows/*.contract.ts, workflow-side helpers, core/, @temporalio/workflow|common
//                (and activity TYPES: `import type`, never runtime code)
//   activities/ → supabase/, imap/, core/, npm      temporal/ → contracts, core/, npm      dev-stack/, supabase/ → core/, npm
//   imap/ (the one place IMAP connections are opened: app/ verifies accounts, activities sync them) → core/, npm
//   webhooks/ (the one place outgoing webhook requests are sent: app/ tests, activities deliver) → core/, npm
//   core/ → nothing but node builtins and npm packages
//   tests/ and scripts/ may import anything; nothing else imports them.
//
// KNOWN VIOLATIONS. `.dependency-cruiser-known-violations.json` (written by `npm run check:graph:baseline`)
// lists the violations that existed when a rule was introduced: mcp tools still reach supabase/, activities/
// and workflow definitions, and workflows import each other, until the application layer (app/) and the
// workflow contracts land. `npm run check:graph` runs with `--ignore-known`, so it passes with those and
// fails on any NEW one. The baseline must only ever SHRINK, to empty: regenerate it after fixing a
// violation, never to admit a new one. Then delete the file and the `--ignore-known` flag.

const fs = require('node:fs');
const path = require('node:path');

// Contracts: what clients of a workflow (mcp, app, temporal, other workflows) may import from workflows/.
// The search attributes are a contract shared by every workflow and every client that starts or finds one;
// contract.ts (what a contract is) and retry-presets.ts (what contracts' activity options are built from)
// come with them.
const CONTRACTS = [
  '\\.contract\\.ts$',
  '^workflows/search-attributes\\.ts$',
  '^workflows/contract\\.ts$',
  '^workflows/retry-presets\\.ts$',
];

// A workflow definition is what the worker registers: every module workflows/index.ts re-exports. A workflow
// never imports another one at runtime (it starts a child by the child's contract); workflow-side helpers
// that run activities for several workflows (workflows/raw-archive.ts) are neither and may be imported.
const WORKFLOW_DEFINITIONS = [
  ...fs.readFileSync(path.join(__dirname, 'workflows/index.ts'), 'utf8').matchAll(/from '\.\/([^']+)\.js'/g),
].map(([, name]) => `^workflows/${name.replace(/[.]/g, '\\.')}\\.ts$`);

const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'];
const PRODUCTION =
  '^(bin|core|workflows|activities|supabase|temporal|dev-stack|workers|mcp|app|imap|webhooks)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle: two modules that need each other are one concept in two files, or a layer upside down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file: a typo, or an npm package missing from package.json.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'core/ is what every layer shares; it imports node builtins, npm packages and itself only.',
      from: { path: '^core/' },
      to: { pathNot: ['^core/', 'node_modules/'], dependencyTypesNot: ['core', ...NPM] },
    },
    {
      name: 'workflows-runtime-imports',
      severity: 'error',
      comment:
        'Workflow code is deterministic and bundled: at runtime it imports workflows/, core/ and ' +
        '@temporalio/workflow or @temporalio/common only. Activities are reached through proxyActivities ' +
        'with their types (`import type`).',
      from: { path: '^workflows/' },
      to: {
        dependencyTypesNot: ['type-only'],
        pathNot: ['^workflows/', '^core/', '(^|/)node_modules/@temporalio/(workflow|common)/'],
      },
    },
    {
      name: 'workflows-type-imports',
      severity: 'error',
      comment:
        'Workflows may import TYPES from activities/, core/ and other workflows, not from other layers.',
      from: { path: '^workflows/' },
      to: {
        dependencyTypes: ['type-only'],
        path: '^(supabase|temporal|dev-stack|workers|mcp|app|tests|scripts)/',
      },
    },
    {
      name: 'workflows-not-other-workflows',
      severity: 'error',
      comment:
        'A workflow imports another workflow only through its contract (workflows/<name>.contract.ts): ' +
        'children are started by the contract, not by the function. workflows/index.ts, the bundle entry, is ' +
        'the one module that imports every definition.',
      from: { path: '^workflows/', pathNot: '^workflows/index\\.ts$' },
      to: { dependencyTypesNot: ['type-only'], path: WORKFLOW_DEFINITIONS, pathNot: CONTRACTS },
    },
    {
      name: 'activities-not-above',
      severity: 'error',
      comment:
        'Activities are called by workflows; they never import the protocol (mcp/), the application layer (app/) or the entry points (workers/).',
      from: { path: '^activities/' },
      to: { path: '^(mcp|app|workers)/' },
    },
    {
      name: 'mcp-only-app-and-contracts',
      severity: 'error',
      comment:
        'MCP tools are a schema plus one application-layer call: they import app/, temporal/, core/ and ' +
        'workflow contracts, never activities/, supabase/ or workflow definitions (types included: the ' +
        'contracts carry the types).',
      from: { path: '^mcp/' },
      to: { path: '^(activities|supabase|workflows|imap|webhooks)/', pathNot: CONTRACTS },
    },
    {
      name: 'app-only-contracts',
      severity: 'error',
      comment:
        'The application layer starts and steers workflows through their contracts and the Temporal client; ' +
        'it never imports workflow definitions, activities, the protocol above it or the entry points.',
      from: { path: '^app/' },
      to: { path: '^(mcp|workers|activities|workflows)/', pathNot: CONTRACTS },
    },
    {
      name: 'temporal-is-a-leaf',
      severity: 'error',
      comment:
        'temporal/ (connection, client, UI links) is used by every layer above it and imports core/ and contracts only.',
      from: { path: '^temporal/' },
      to: {
        path: '^(mcp|app|workers|activities|supabase|dev-stack|workflows|imap|webhooks)/',
        pathNot: CONTRACTS,
      },
    },
    {
      name: 'imap-is-a-leaf',
      severity: 'error',
      comment:
        'imap/ opens IMAP connections (imapflow) for app/ (verifying an account) and activities/ (syncing it); it imports core/ only.',
      from: { path: '^imap/' },
      to: { path: '^(mcp|app|workers|activities|supabase|dev-stack|workflows|temporal)/' },
    },
    {
      name: 'webhooks-is-a-leaf',
      severity: 'error',
      comment:
        'webhooks/ sends outgoing webhook requests (SSRF-checked, signed) for app/ (test_webhook) and activities/ (delivery); it imports core/ only.',
      from: { path: '^webhooks/' },
      to: { path: '^(mcp|app|workers|activities|supabase|dev-stack|workflows|temporal|imap)/' },
    },
    {
      name: 'supabase-is-data-only',
      severity: 'error',
      comment:
        'supabase/ is the data layer (SQL, storage); it imports core/ and itself only, and workflow contracts ' +
        '(pure: types and id functions) where a read names a run: analysis-plan.ts, shared by app/ and the ' +
        'ingestion activity, turns which prompt version serves an email into the analysis run it will be.',
      from: { path: '^supabase/' },
      to: {
        path: '^(mcp|app|workers|activities|workflows|temporal|dev-stack|imap|webhooks)/',
        pathNot: CONTRACTS,
      },
    },
    {
      name: 'dev-stack-is-standalone',
      severity: 'error',
      comment: 'dev-stack/ provisions a Temporal dev server and Postgres; it imports core/ and itself only.',
      from: { path: '^dev-stack/' },
      to: { path: '^(mcp|app|workers|activities|workflows|temporal|supabase)/' },
    },
    {
      name: 'workers-are-entry-points',
      severity: 'error',
      comment: 'workers/ is the composition root: bin/, tests/ and scripts/ import it, nothing else does.',
      from: { path: '^(core|workflows|activities|supabase|temporal|dev-stack|mcp|app|imap|webhooks)/' },
      to: { path: '^workers/' },
    },
    {
      name: 'production-not-to-tests-or-scripts',
      severity: 'error',
      comment: 'Code that ships in the image never imports tests/ or scripts/ (neither is in it).',
      from: { path: PRODUCTION },
      to: { path: '^(tests|scripts)/' },
    },
    {
      name: 'production-not-to-dev-dep',
      severity: 'error',
      comment:
        'The image installs with --omit=dev: code that ships imports no devDependency at runtime. The one ' +
        "exception is dev-stack/temporal-cli.ts's last-resort CLI download through @temporalio/testing, a " +
        'dynamic import in a try that reports the route as failed where the package is absent.',
      from: { path: PRODUCTION, pathNot: '^dev-stack/temporal-cli\\.ts$' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: ['node_modules/@types/'],
      },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: '^(\\.cache|\\.data|coverage|tests/fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    // Re-runs over unchanged files (the check, then the import-graph unit test) read the result from here.
    cache: { folder: '.cache/dependency-cruiser', strategy: 'content' },
  },
};
