/**
 * Provides the real services every test run needs, once: the Temporal CLI dev server, a PostgreSQL
 * server with a fresh database (migrated), and the workflow code bundled once for every test worker.
 * Each provisioning step fails with one sentence that says what to install.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { FAILURE_CONVERTER_PATH } from '../../temporal/data-converter.js';
import { WORKFLOWS_PATH } from '../../workers/worker.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    adminDatabaseUrl: string;
    workflowBundlePath: string;
  }
}

const log = (msg: string) => process.stderr.write(`[test-setup] ${msg}\n`);

export default async function setup(project: TestProject) {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const [temporal, postgres, bundlePath] = await Promise.all([
      resolveTemporalCli({ log }).then((cliPath) =>
        startTemporalDevServer({
          cliPath,
          headless: true,
          searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
          log,
        }),
      ),
      provisionPostgres({ log }),
      bundleOnce(),
    ]);
    stops.push(temporal.stop, postgres.stop);

    const databaseUrl = await createDatabase(postgres.url, `durable_inbox_test_${process.pid}`);
    const sql = createDb({ url: databaseUrl, max: 1 });
    await migrate(sql);
    await sql.end();

    project.provide('temporalAddress', temporal.address);
    project.provide('databaseUrl', databaseUrl);
    project.provide('adminDatabaseUrl', postgres.url);
    project.provide('workflowBundlePath', bundlePath);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}

async function bundleOnce(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    // Tests run with payload keys: failures are encoded inside the sandbox (temporal/failure-converter.ts).
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: (m) => log(m), error: (m) => log(m) },
  });
  const file = path.resolve('.cache/test/workflow-bundle.js');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, code);
  return file;
}
