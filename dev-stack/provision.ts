// Tiny CLI over the dev-stack modules, for CI cache pre-warming and self-checks:
//   npx tsx dev-stack/provision.ts temporal-cli    prints the resolved CLI path
//   npx tsx dev-stack/provision.ts temporal-check  starts and stops a dev server
//   npx tsx dev-stack/provision.ts postgres-check  provisions, queries, stops PostgreSQL
//   npx tsx dev-stack/provision.ts dovecot-check   provisions Dovecot, creates a folder, stops it
import postgres from 'postgres';
import { provisionDovecot } from './dovecot.js';
import { createDatabase, provisionPostgres } from './postgres.js';
import { resolveTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer } from './temporal-dev-server.js';

const commands: Record<string, () => Promise<void>> = {
  'temporal-cli': async () => {
    console.log(await resolveTemporalCli());
  },

  'temporal-check': async () => {
    const server = await startTemporalDevServer({
      cliPath: await resolveTemporalCli(),
      namespace: 'dev-stack-check',
      searchAttributes: { DevStackCheckKeyword: 'Keyword', DevStackCheckTime: 'Datetime' },
      headless: true,
    });
    console.log(`Temporal dev server was ready at ${server.address} (namespace ${server.namespace})`);
    await server.stop();
  },

  'dovecot-check': async () => {
    const server = await provisionDovecot({ users: { check: 'check-password' } });
    try {
      await server.doveadm(['mailbox', 'create', '-u', 'check', 'Check']);
      const status = await server.doveadm(['mailbox', 'status', '-u', 'check', 'uidvalidity', 'Check']);
      console.log(`Dovecot was ready at ${server.host}:${server.port} (${status.trim()})`);
    } finally {
      await server.stop();
    }
  },

  'postgres-check': async () => {
    const server = await provisionPostgres();
    try {
      const url = await createDatabase(server.url, 'dev_stack_check');
      const sql = postgres(url, { max: 1 });
      try {
        const [row] = await sql<{ version: string }[]>`select version()`;
        console.log(row?.version);
      } finally {
        await sql.end();
      }
    } finally {
      await server.stop();
    }
  },
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (command) {
  await command();
} else {
  console.error(`usage: provision.ts <${Object.keys(commands).join('|')}>`);
  process.exitCode = 2;
}
