/**
 * What a worker process does when something unexpected happens, and who picks it up.
 *
 * - **The policy** (`exitOnUnexpected`): an exception nothing caught (a driver's timer callback, a
 *   rejected promise nobody awaited) leaves the process in a state no code was written for. The worker
 *   logs it, redacted, and exits with EXIT_UNEXPECTED. Everything it was doing is in Temporal: activities
 *   it held time out and are retried by the next worker.
 * - **The supervisor** (`superviseWorker`): `durable-inbox worker`, and `npm start` when the database is
 *   a real Postgres, run the worker in a child process and start a new one whenever it exits without
 *   being asked to, after a backoff (1 s, doubling to 30 s; back to 1 s once a child ran for a minute),
 *   and say so in the log. A child that exits with the configuration's exit code (2) is not restarted:
 *   the same configuration fails the same way. SIGINT/SIGTERM stop the child, then the supervisor.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../core/logger.js';
import { type WorkerMemorySettings, workerLaunch } from './worker-launch.js';

/** Exit code of a worker that hit an unexpected exception (EX_SOFTWARE). */
export const EXIT_UNEXPECTED = 70;
/** Exit code of a configuration error: restarting cannot help. */
export const EXIT_CONFIG = 2;
/** Set in a supervised child's environment: it runs the worker itself. */
export const CHILD_ENV = 'DURABLE_INBOX_SUPERVISED_WORKER';

const CLI = fileURLToPath(new URL('../bin/durable-inbox.mjs', import.meta.url));

/** In a supervised child: stop (as on SIGTERM) when the supervisor is gone. */
export function stopWithSupervisor(): void {
  if (!process.send) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

export function exitOnUnexpected(log: Logger, what = 'worker'): void {
  const fail = (err: unknown, origin: string) => {
    log.error(`unexpected exception: the ${what} exits so that a fresh process takes over`, {
      error: err,
      origin,
      exitCode: EXIT_UNEXPECTED,
    });
    process.exit(EXIT_UNEXPECTED);
  };
  process.on('uncaughtException', fail);
  // Node turns an unhandled rejection into an uncaughtException by default; this keeps the same policy
  // under --unhandled-rejections=warn too.
  process.on('unhandledRejection', (reason) => fail(reason, 'unhandledRejection'));
}

export interface SupervisorOptions {
  log: Logger;
  /** The child's environment (defaults to this process's), CHILD_ENV added. */
  env?: NodeJS.ProcessEnv;
  /** The child's V8 memory settings (worker-launch.ts). */
  memory: WorkerMemorySettings;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A child that ran this long resets the backoff. */
  healthyAfterMs?: number;
}

export interface Supervisor {
  /** The running child's pid, if any. */
  readonly pid: number | undefined;
  readonly restarts: number;
  /** Stop the child (SIGTERM, then SIGKILL after the grace) and stop restarting. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when supervision ends: stopped, or a child exited with EXIT_CONFIG (that code). */
  done: Promise<number>;
}

export function superviseWorker(opts: SupervisorOptions): Supervisor {
  const { log } = opts;
  const initial = opts.initialDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 30_000;
  const healthyAfter = opts.healthyAfterMs ?? 60_000;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let delay = initial;
  let timer: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const launch = () => {
    timer = undefined;
    const startedAt = Date.now();
    const how = workerLaunch(opts.memory, { ...(opts.env ?? process.env), [CHILD_ENV]: '1' });
    const proc = spawn(process.execPath, [...how.nodeArgs, CLI, 'worker'], {
      env: how.env,
      // Its own process group, so a terminal's Ctrl-C reaches only the supervisor, which stops the child
      // once (a second signal would force it). The IPC channel ends the child if the supervisor dies.
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = proc;
    log.info('worker process started', { pid: proc.pid, restarts, nodeArgs: how.nodeArgs });
    proc.once('exit', (code, signal) => {
      child = undefined;
      if (stopping) return finish(0);
      if (code === EXIT_CONFIG) {
        log.error('worker process exited with a configuration error; not restarting', { code });
        return finish(EXIT_CONFIG);
      }
      if (Date.now() - startedAt >= healthyAfter) delay = initial;
      restarts++;
      log.warn('worker process exited; restarting it', {
        pid: proc.pid,
        code,
        signal,
        restartInMs: delay,
        restarts,
      });
      timer = setTimeout(launch, delay);
      delay = Math.min(delay * 2, max);
    });
  };
  launch();

  return {
    get pid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
    done,
    async stop(graceMs = 30_000) {
      stopping = true;
      if (timer) clearTimeout(timer);
      const running = child;
      if (!running) return finish(0);
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const force = setTimeout(() => running.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(force);
    },
  };
}
