// Provides a PostgreSQL server for tests: the one in TEST_DATABASE_URL, or else a
// throw-away cluster in a temp dir, tuned for speed rather than durability.
import { spawnSync } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import {
  aptInstall,
  freePort,
  type Log,
  lastLines,
  onParentExit,
  run,
  stderrLogger,
  unprivilegedUser,
} from './util.js';

export interface ProvisionedPostgres {
  /** Superuser URL (trust auth, no password). */
  url: string;
  stop(): Promise<void>;
  /** A cluster of its own only (not TEST_DATABASE_URL): crash it (`pg_ctl stop -m immediate`) … */
  crash?(): Promise<void>;
  /** … and start it again on the same port and data. */
  restart?(): Promise<void>;
}

const NOT_FOUND =
  'PostgreSQL server not found: install it (apt-get install postgresql) or set TEST_DATABASE_URL.';

/**
 * `own`: always a throw-away cluster, even with TEST_DATABASE_URL set (chaos tests stop and start it).
 * `durable`: keep fsync and synchronous commit on. Without them a crash (`crash()`) loses transactions
 * the server had already acknowledged, which is no fault of the code under test.
 */
export async function provisionPostgres(
  opts: { log?: Log; own?: boolean; durable?: boolean } = {},
): Promise<ProvisionedPostgres> {
  const log = opts.log ?? stderrLogger('postgres');
  const fromEnv = opts.own ? undefined : process.env.TEST_DATABASE_URL;
  if (fromEnv) {
    log('using TEST_DATABASE_URL');
    return { url: fromEnv, stop: async () => {} };
  }

  const bindir = (await findServerBinaries()) ?? (await installWithApt(log));
  if (!bindir) throw new Error(NOT_FOUND);

  // initdb and postgres refuse to run as root, so root hands the cluster to a system user.
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const pgCommand = (tool: string, args: string[]): [string, string[]] =>
    runAs ? ['runuser', ['-u', runAs.name, '--', join(bindir, tool), ...args]] : [join(bindir, tool), args];

  const root = await mkdtemp(join(tmpdir(), 'durable-inbox-pg-'));
  if (runAs) await chown(root, runAs.uid, runAs.gid);
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');

  const unregisterExitHook = onParentExit(() => {
    spawnSync(...pgCommand('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate']), { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unregisterExitHook();
      await run(...pgCommand('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate']));
      await rm(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    log(`creating a cluster in ${dataDir} with ${bindir}${runAs ? ` as user ${runAs.name}` : ''}`);
    // --no-sync: a throw-away cluster does not need initdb's final fsync of every file.
    const initdbArgs = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'];
    const initdb = (locale: string) => run(...pgCommand('initdb', [...initdbArgs, locale]));
    let init = await initdb('--locale=C.UTF-8');
    if (init.code !== 0 && /locale/i.test(init.stdout + init.stderr)) {
      log('C.UTF-8 locale unavailable, retrying initdb with --no-locale');
      init = await initdb('--no-locale');
    }
    if (init.code !== 0) throw new Error(`initdb failed: ${lastLines(init.stderr || init.stdout, 5)}`);

    const port = await freePort('127.0.0.1');
    // Durability settings are off because the data is thrown away; max_connections is
    // raised because parallel test workers each open pools.
    const serverOptions = [
      '-c listen_addresses=127.0.0.1',
      `-p ${port}`,
      `-k ${root}`,
      ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      '-c max_connections=200',
    ].join(' ');
    const startServer = async () => {
      const start = await run(
        ...pgCommand('pg_ctl', [
          '-D',
          dataDir,
          '-l',
          logFile,
          '-w',
          '-t',
          '60',
          '-o',
          serverOptions,
          'start',
        ]),
      );
      if (start.code !== 0) {
        const serverLog = await readFile(logFile, 'utf8').catch(() => '');
        throw new Error(`pg_ctl start failed: ${lastLines(`${start.stderr}\n${serverLog}`, 8)}`);
      }
    };
    await startServer();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    log(`ready at ${url}`);
    const crash = async () => {
      const result = await run(...pgCommand('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate']));
      if (result.code !== 0) throw new Error(`pg_ctl stop failed: ${lastLines(result.stderr, 3)}`);
    };
    return { url, stop, crash, restart: startServer };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Creates (or re-creates, empty) database `name` on the server and returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  // Plain identifiers only: they need no quoting in SQL and no escaping in the URL path
  // (postgres.js does not percent-decode the database name, libpq does).
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`Invalid database name ${JSON.stringify(name)}: use lowercase letters, digits and _.`);
  }
  // onnotice: silence "database does not exist, skipping" from DROP ... IF EXISTS.
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`drop database if exists ${sql(name)}`;
    await sql`create database ${sql(name)}`;
  } finally {
    await sql.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function hasServerTools(bindir: string): Promise<boolean> {
  try {
    await access(join(bindir, 'initdb'), constants.X_OK);
    await access(join(bindir, 'pg_ctl'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `pg_config --bindir` first (it may come from libpq-dev without a server, hence the
 * check), then Debian/Ubuntu's versioned dirs, which are not on PATH, newest first.
 */
async function findServerBinaries(): Promise<string | undefined> {
  const pgConfig = await run('pg_config', ['--bindir']);
  const candidates = pgConfig.code === 0 ? [pgConfig.stdout.trim()] : [];
  const versions = await readdir('/usr/lib/postgresql').catch(() => []);
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
  for (const bindir of candidates) {
    if (await hasServerTools(bindir)) return bindir;
  }
  return undefined;
}

/**
 * Root on Debian/Ubuntu can get a server in a minute or so. The package's postinst may
 * create and start its own `main` cluster on port 5432; we never use it, and it does not
 * get in the way because our cluster picks a free port.
 */
async function installWithApt(log: Log): Promise<string | undefined> {
  log('PostgreSQL server not found; installing it with apt-get');
  return (await aptInstall(['postgresql'], log)) ? findServerBinaries() : undefined;
}

/** The `postgres` user the Debian package creates, else `nobody`, which exists everywhere. */
function postgresUser() {
  return unprivilegedUser(['postgres', 'nobody'], 'PostgreSQL');
}
