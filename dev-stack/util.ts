// Small helpers shared by the dev-stack provisioning modules.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export type Log = (msg: string) => void;

export function stderrLogger(prefix: string): Log {
  return (msg) => process.stderr.write(`[${prefix}] ${msg}\n`);
}

export interface RunResult {
  /** Exit code; null when the process could not be started or was killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and captures its output. It never rejects: a missing
 * executable (ENOENT) is reported as `code: null` with the reason in `stderr`, because
 * callers treat "not installed" as just another route that did not work.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Last `n` non-empty lines of `text`, for error messages that point at the real cause. */
export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/**
 * Asks the OS for a free TCP port by binding port 0. Another process could grab it
 * before our server binds it, but that race is negligible on a dev machine or CI runner.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `cleanup` (which must be synchronous) when this process exits, so that servers we
 * started in their own process group do not outlive us. Node skips 'exit' handlers when
 * killed by a signal such as Ctrl-C, so the terminating signals are handled too: after
 * cleanup the signal is re-raised if nobody else listens for it, keeping the default
 * "die on signal" behaviour. Returns a function that unregisters everything.
 */
export function onParentExit(cleanup: () => void): () => void {
  let done = false;
  const runOnce = () => {
    if (!done) {
      done = true;
      cleanup();
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    unregister();
    runOnce();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const unregister = () => {
    process.off('exit', runOnce);
    for (const signal of TERMINATING_SIGNALS) process.off(signal, onSignal);
  };
  process.on('exit', runOnce);
  for (const signal of TERMINATING_SIGNALS) process.on(signal, onSignal);
  return unregister;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `apt-get install` of Debian packages, for root on Debian/Ubuntu (CI, containers); false elsewhere or
 * when it fails. Stale or missing package lists (fresh containers ship none) get one `apt-get update`.
 */
export async function aptInstall(packages: string[], log: Log): Promise<boolean> {
  if (process.getuid?.() !== 0 || (await run('apt-get', ['--version'])).code !== 0) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  let result = await install();
  if (result.code !== 0) {
    log('apt-get install failed; running apt-get update and retrying');
    await run('apt-get', ['update'], { env });
    result = await install();
  }
  if (result.code !== 0) log(`apt-get install failed: ${lastLines(result.stderr, 3)}`);
  return result.code === 0;
}

/** The first of `names` that exists as a system user: servers that refuse root run as it. */
export async function unprivilegedUser(
  names: string[],
  server: string,
): Promise<{ name: string; uid: number; gid: number }> {
  for (const name of names) {
    const uid = await run('id', ['-u', name]);
    const gid = await run('id', ['-g', name]);
    if (uid.code === 0 && gid.code === 0) {
      return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
    }
  }
  throw new Error(`Running as root, but none of the users ${names.join(', ')} exists to run ${server}.`);
}
