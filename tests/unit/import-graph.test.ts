/**
 * The import-graph rules (.dependency-cruiser.cjs) can fail: the real config, run the way `npm run check`
 * runs it, on a tiny tree with one forbidden import per rule next to the allowed ones, reports exactly the
 * forbidden ones. And the known-violations baseline only shrinks: each entry still occurs in the code.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve('.');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const BASELINE = '.dependency-cruiser-known-violations.json';

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

function depcruise(cwd: string, ...args: string[]): Violation[] {
  const run = spawnSync(
    DEPCRUISE,
    ['--config', '.dependency-cruiser.cjs', ...args, '--output-type', 'json', '.'],
    { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (!run.stdout) throw new Error(`depcruise printed nothing (exit ${run.status}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** `rule: from → to`, with a package's files named by the package. */
const brief = (v: Violation) =>
  `${v.rule.name}: ${v.from} → ${v.to.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, 'npm:$1')}`;

// Under the project (so `@temporalio/workflow` and `zod` resolve from its node_modules), outside its tree.
let tree = '';
beforeAll(() => {
  mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  tree = mkdtempSync(path.join(ROOT, '.cache', 'import-graph-'));
});
afterAll(() => rmSync(tree, { recursive: true, force: true }));

function file(name: string, ...lines: string[]) {
  mkdirSync(path.dirname(path.join(tree, name)), { recursive: true });
  writeFileSync(path.join(tree, name), `${lines.join('\n')}\n`);
}

describe('the import-graph rules', () => {
  it('report each forbidden import, and none of the allowed ones', () => {
    copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(tree, '.dependency-cruiser.cjs'));
    file(
      'tsconfig.json',
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    );
    file(
      'core/pure.ts',
      "import { readFileSync } from 'node:fs';",
      "import { z } from 'zod';",
      'export const pure = [readFileSync, z];',
    );
    file('core/leaky.ts', "import { db } from '../supabase/db.js';", 'export const leaky = db;');
    file('core/ping.ts', "import { pong } from './pong.js';", 'export const ping = () => pong;');
    file('core/pong.ts', "import { ping } from './ping.js';", 'export const pong = () => ping;');
    file('supabase/db.ts', "import { pure } from '../core/pure.js';", 'export const db = pure;');
    file('workflows/index.ts', "export { one } from './one.js';", "export { two } from './two.js';");
    file('workflows/two.contract.ts', "export const TWO = 'two';");
    file('workflows/helper.ts', "import { pure } from '../core/pure.js';", 'export const helper = pure;');
    file(
      'workflows/one.ts',
      "import { proxyActivities } from '@temporalio/workflow';",
      "import type { Acts } from '../activities/acts.js';",
      "import { pure } from '../core/pure.js';",
      "import { helper } from './helper.js';",
      "import { TWO } from './two.contract.js';",
      "import { two } from './two.js';",
      "import { z } from 'zod';",
      "import { acts } from '../activities/acts.js';",
      "import type { db } from '../supabase/db.js';",
      'export const one = [proxyActivities, pure, helper, TWO, two, z, acts] as unknown as Acts & typeof db;',
    );
    file('workflows/two.ts', "import { TWO } from './two.contract.js';", 'export const two = TWO;');
    file(
      'activities/acts.ts',
      "import { db } from '../supabase/db.js';",
      "import { tool } from '../mcp/tool.js';",
      'export const acts = [db, tool];',
      'export type Acts = typeof acts;',
    );
    file(
      'mcp/tool.ts',
      "import { pure } from '../core/pure.js';",
      "import { TWO } from '../workflows/two.contract.js';",
      "import { two } from '../workflows/two.js';",
      "import type { db } from '../supabase/db.js';",
      "import { start } from '../workers/start.js';",
      'export const tool: unknown = [pure, TWO, two, start] as unknown as typeof db;',
    );
    file('workers/start.ts', "export const start = 'start';");
    file('temporal/client.ts', "import { pure } from '../core/pure.js';", 'export const client = pure;');
    file(
      'app/ingest.ts',
      "import { client } from '../temporal/client.js';",
      "import { db } from '../supabase/db.js';",
      "import { TWO } from '../workflows/two.contract.js';",
      "import { two } from '../workflows/two.js';",
      'export const ingest = [client, db, TWO, two];',
    );
    file('package.json', JSON.stringify({ dependencies: { zod: '*' }, devDependencies: { yaml: '*' } }));
    file('core/dev-only.ts', "import { parse } from 'yaml';", 'export const devOnly = parse;');
    file(
      'tests/uses-anything.ts',
      "import { acts } from '../activities/acts.js';",
      "import { parse } from 'yaml';",
      'export const t = [acts, parse];',
    );

    expect(depcruise(tree).map(brief).sort()).toEqual(
      [
        'activities-not-above: activities/acts.ts → mcp/tool.ts',
        'app-only-contracts: app/ingest.ts → workflows/two.ts',
        'production-not-to-dev-dep: core/dev-only.ts → npm:yaml',
        'core-imports-only-core: core/leaky.ts → supabase/db.ts',
        'mcp-only-app-and-contracts: mcp/tool.ts → supabase/db.ts',
        'mcp-only-app-and-contracts: mcp/tool.ts → workflows/two.ts',
        'no-circular: core/ping.ts → core/pong.ts',
        'workers-are-entry-points: mcp/tool.ts → workers/start.ts',
        'workflows-not-other-workflows: workflows/one.ts → workflows/two.ts',
        'workflows-runtime-imports: workflows/one.ts → activities/acts.ts',
        'workflows-runtime-imports: workflows/one.ts → npm:zod',
        'workflows-type-imports: workflows/one.ts → supabase/db.ts',
      ].sort(),
    );
  });

  it('the known-violations baseline lists only violations the code still has (regenerate it after a fix: npm run check:graph:baseline)', () => {
    const known = (JSON.parse(readFileSync(BASELINE, 'utf8')) as Violation[]).map(brief);
    // The same flags as `npm run check:graph`, so this run reads the check's cache; known ones come back as 'ignore'.
    const current = new Set(depcruise(ROOT, '--ignore-known').map(brief));
    expect(known.filter((v) => !current.has(v))).toEqual([]);
  });
});
