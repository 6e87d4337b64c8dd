// Provides a Redis server for the peers benchmark: Debian's redis-server (apt-installed once when
// missing, like dev-stack/postgres.ts), a throw-away instance in a temp dir with AOF `everysec`.
import { type ChildProcess, spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall, freePort, type Log, onParentExit, sleep, stderrLogger } from './util.js';

export interface ProvisionedRedis {
  host: string;
  port: number;
  /** The AOF fsync policy it runs with. */
  appendfsync: 'everysec' | 'always';
  /** The server's process (the peers bench reads its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

const SERVER = '/usr/bin/redis-server';

export async function provisionRedis(
  opts: { log?: Log; appendfsync?: 'everysec' | 'always' } = {},
): Promise<ProvisionedRedis> {
  const log = opts.log ?? stderrLogger('redis');
  if (!(await exists(SERVER))) {
    log('redis-server not found; installing it with apt-get');
    await aptInstall(['redis-server'], log);
  }
  if (!(await exists(SERVER)))
    throw new Error('redis-server not found: install it (apt-get install redis-server)');
  const appendfsync = opts.appendfsync ?? 'everysec';
  const dir = await mkdtemp(join(tmpdir(), 'durable-inbox-redis-'));
  const host = '127.0.0.1';
  const port = await freePort(host);
  const args = ['--bind', host, '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes'];
  args.push('--appendfsync', appendfsync, '--protected-mode', 'no', '--daemonize', 'no');
  const child: ChildProcess = spawn(SERVER, args, { stdio: 'ignore' });
  const unregister = onParentExit(() => child.kill('SIGKILL'));
  const stop = async () => {
    unregister();
    child.kill('SIGTERM');
    await sleep(200);
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (await canConnect(host, port)) return { host, port, appendfsync, pid: child.pid ?? 0, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`redis-server did not start on ${host}:${port}`);
}

async function exists(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
