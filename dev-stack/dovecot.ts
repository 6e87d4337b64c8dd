// Provides a real IMAP server for tests and benchmarks: Debian's Dovecot (dovecot-imapd), installed
// with apt-get when missing, run unprivileged from a private config in a temp dir, on a free loopback
// port, plain IMAP (no TLS: loopback only), with a passwd-file of several users and Maildir mail.
// It advertises IDLE, CONDSTORE, QRESYNC and UIDPLUS, like the servers users connect.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { access, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  aptInstall,
  freePort,
  type Log,
  lastLines,
  onParentExit,
  run,
  sleep,
  stderrLogger,
  unprivilegedUser,
} from './util.js';

export interface ProvisionedDovecot {
  host: string;
  port: number;
  /**
   * The server's log. Each session's logout line counts what it fetched (`body_count=`, `hdr_count=`):
   * how a test proves a sync did not download a message.
   */
  logFile: string;
  /** user name → password (the passwd-file's contents). */
  users: Record<string, string>;
  /** Add a user (or change a password); Dovecot re-reads the file on its next login. */
  setUser(name: string, password: string): Promise<void>;
  /** `doveadm` as the server's user with its config, e.g. ['mailbox', 'status', '-u', 'alice', 'all', 'INBOX']. */
  doveadm(args: string[]): Promise<string>;
  /** Stop the server, keeping its mail: `start()` serves the same mailboxes on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** Stop and delete everything. */
  stop(): Promise<void>;
}

const NOT_FOUND =
  'Dovecot not found: install it (apt-get install dovecot-imapd) or run the tests as root on Debian/Ubuntu, which installs it.';

const CANDIDATES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

export async function provisionDovecot(
  opts: {
    users?: Record<string, string>;
    log?: Log;
    /** false: a server without QRESYNC (CONDSTORE still there), as many servers are: the sync's fallback. */
    qresync?: boolean;
  } = {},
): Promise<ProvisionedDovecot> {
  const log = opts.log ?? stderrLogger('dovecot');
  let binary = await findDovecot();
  if (!binary) {
    log('Dovecot not found; installing dovecot-imapd with apt-get');
    if (await aptInstall(['dovecot-imapd'], log)) binary = await findDovecot();
  }
  if (!binary) throw new Error(NOT_FOUND);
  const doveadmBinary = join(binary, '..', '..', 'bin', 'doveadm');

  // Root hands the server to `nobody`; anyone else runs it as themselves.
  const runAs =
    process.getuid?.() === 0
      ? await unprivilegedUser(['nobody'], 'Dovecot')
      : { name: userInfo().username, uid: userInfo().uid, gid: userInfo().gid };
  const group = (await run('id', ['-gn', runAs.name])).stdout.trim() || String(runAs.gid);
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    process.getuid?.() === 0 ? ['runuser', ['-u', runAs.name, '--', cmd, ...args]] : [cmd, args];

  const root = await mkdtemp(join(tmpdir(), 'durable-inbox-dovecot-'));
  const port = await freePort('127.0.0.1');
  const users = { ...(opts.users ?? {}) };
  const files = {
    config: join(root, 'dovecot.conf'),
    users: join(root, 'users'),
    log: join(root, 'dovecot.log'),
    pid: join(root, 'run', 'master.pid'),
  };
  const writeUsers = async () => {
    const lines = Object.entries(users).map(([name, password]) => `${name}:{PLAIN}${password}\n`);
    await writeFile(files.users, lines.join(''), { mode: 0o600 });
    if (process.getuid?.() === 0) await chown(files.users, runAs.uid, runAs.gid);
  };
  await mkdir(join(root, 'mail'));
  await mkdir(join(root, 'run'));
  await mkdir(join(root, 'state'));
  await writeFile(
    files.config,
    dovecotConfig(root, port, runAs.name, group, files) + (opts.qresync === false ? WITHOUT_QRESYNC : ''),
  );
  await writeUsers();
  if (process.getuid?.() === 0) await run('chown', ['-R', `${runAs.uid}:${runAs.gid}`, root]);

  const kill = () => {
    // The master's children exit on their own when it is gone.
    spawnSync('sh', ['-c', `kill -9 $(cat ${files.pid}) 2>/dev/null`]);
  };
  const unregisterExitHook = onParentExit(() => {
    kill();
    rmSync(root, { recursive: true, force: true });
  });

  const start = async () => {
    const code = await daemonize(...asUser(binary, ['-c', files.config]), join(root, 'start.err'));
    if (code !== 0) {
      const output = await readFile(join(root, 'start.err'), 'utf8').catch(() => '');
      const serverLog = await readFile(files.log, 'utf8').catch(() => '');
      throw new Error(`dovecot failed to start: ${lastLines(`${output}\n${serverLog}`, 6)}`);
    }
    await waitForGreeting(port);
  };
  const halt = async () => {
    await run(...asUser(binary, ['-c', files.config, 'stop']));
    for (let i = 0; i < 50 && (await pidAlive(files.pid)); i++) await sleep(100);
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unregisterExitHook();
      await halt().catch(() => kill());
      await rm(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  log(`ready at 127.0.0.1:${port} (${binary} as ${runAs.name}, mail in ${join(root, 'mail')})`);
  return {
    host: '127.0.0.1',
    port,
    logFile: files.log,
    users,
    async setUser(name, password) {
      users[name] = password;
      await writeUsers();
    },
    async doveadm(args) {
      const result = await run(...asUser(doveadmBinary, ['-c', files.config, ...args]));
      if (result.code !== 0) throw new Error(`doveadm ${args[0]} failed: ${lastLines(result.stderr, 3)}`);
      return result.stdout;
    },
    halt,
    start,
    stop,
  };
}

/**
 * Run a command that forks a daemon and exits. Its output goes to a file, not to pipes: the daemon
 * inherits them and would hold them open, so a pipe never closes.
 */
async function daemonize(cmd: string, args: string[], outputFile: string): Promise<number | null> {
  const out = openSync(outputFile, 'w');
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
    return await new Promise((resolve) => {
      child.once('error', () => resolve(null));
      child.once('exit', (code) => resolve(code));
    });
  } finally {
    closeSync(out);
  }
}

async function findDovecot(): Promise<string | undefined> {
  for (const path of CANDIDATES) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

async function pidAlive(pidFile: string): Promise<boolean> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server is up when its port greets: `* OK ...`. */
async function waitForGreeting(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (greeted) return;
    await sleep(100);
  }
  throw new Error(`dovecot did not greet on 127.0.0.1:${port}`);
}

/**
 * Dovecot 2.3's own post-login capabilities, less QRESYNC: a client cannot ENABLE what is not
 * advertised, so it falls back to CONDSTORE for flags and to the listed UIDs for expunges.
 */
const WITHOUT_QRESYNC = `protocol imap {
  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE
}
`;

/**
 * Every service runs as the one unprivileged user, no chroot, plain text auth allowed (loopback
 * only), no failure delay (tests drive wrong passwords). IDLE notifies within a second.
 */
function dovecotConfig(
  root: string,
  port: number,
  user: string,
  group: string,
  files: { users: string; log: string },
): string {
  return `# Written by dev-stack/dovecot.ts for one test run; deleted with it.
protocols = imap
listen = 127.0.0.1
base_dir = ${root}/run
state_dir = ${root}/state
instance_name = durable-inbox-${port}
log_path = ${files.log}
info_log_path = ${files.log}
default_internal_user = ${user}
default_internal_group = ${group}
default_login_user = ${user}
first_valid_uid = 0
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:${root}/mail/%u
mail_uid = ${user}
mail_gid = ${group}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
  user = ${user}
}
service anvil {
  chroot =
}
service auth {
  user = ${user}
}
service auth-worker {
  user = ${user}
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${files.users}
}
userdb {
  driver = static
  args = uid=${user} gid=${group} home=${root}/mail/%u
}
protocol imap {
  mail_max_userip_connections = 100
}
`;
}
