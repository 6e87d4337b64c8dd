// Runs `temporal server start-dev` as a child process and waits until it can actually
// serve our namespace and search attributes, not merely until the port is open.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, type Log, onParentExit, sleep, stderrLogger } from './util.js';

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface TemporalDevServerOptions {
  cliPath: string;
  /** Persist state in this SQLite file (its directory is created); in-memory when omitted. */
  dbFilename?: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** Disable the Web UI (`--headless`); `uiUrl` is then an empty string. */
  headless?: boolean;
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Task-queue fairness (matching.enableFairness): per-tenant fair dispatch of the runs' tasks. Default
   * on, as the app expects of any cluster (README: Fairness between tenants); off only to measure it. */
  fairness?: boolean;
  /** The Web UI decodes payloads through this codec server (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  log?: Log;
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
  /**
   * SIGKILL the server and everything it spawned, as a crash would, and wait until it is gone. With a
   * `dbFilename`, starting it again on the same port and file brings back its state (chaos tests).
   */
  kill(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_LINES_KEPT = 40;

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const log = opts.log ?? stderrLogger('temporal-dev-server');
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? {};
  const port = opts.port ?? (await freePort(ip));
  const uiPort = opts.headless ? undefined : (opts.uiPort ?? (await freePort(ip)));
  const address = `${ip}:${port}`;
  // An explicitly chosen port may already serve another dev server, which the readiness
  // check below would mistake for ours before ours fails to bind and exits.
  for (const taken of [port, uiPort]) {
    if (taken !== undefined && (await canConnect(`${ip}:${taken}`))) {
      throw new Error(`Cannot start the Temporal dev server: ${ip}:${taken} is already in use.`);
    }
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace];
  args.push(
    '--log-level',
    'warn',
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
  );
  if (opts.dbFilename) {
    const dbFilename = resolve(opts.dbFilename);
    await mkdir(dirname(dbFilename), { recursive: true });
    args.push('--db-filename', dbFilename);
  }
  for (const [name, type] of Object.entries(searchAttributes)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  if (opts.fairness !== false) args.push('--dynamic-config-value', 'matching.enableFairness=true');
  if (opts.uiCodecEndpoint && uiPort !== undefined) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);

  log(`starting ${opts.cliPath} ${args.join(' ')}`);
  // Own process group, so stop() and the exit hook can kill everything it spawned.
  const child = spawn(opts.cliPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exitsWithin = (ms: number) =>
    new Promise<boolean>((resolve) => {
      // Cleared on exit so a finished stop() does not hold the event loop open for `ms`.
      const timer = setTimeout(() => resolve(false), ms);
      void exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  // Keep the tail of the output for error messages; reading also stops a full pipe from blocking the server.
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      output.push(...chunk.trimEnd().split('\n'));
      output.splice(0, Math.max(0, output.length - OUTPUT_LINES_KEPT));
    });
  }
  const pid = await new Promise<number>((resolve, reject) => {
    // A missing pid must never reach killGroup(): kill(-0) would signal our own group.
    child.once('spawn', () => (child.pid ? resolve(child.pid) : reject(new Error('spawned without a pid'))));
    child.once('error', (err) => reject(new Error(`Could not run ${opts.cliPath}: ${err.message}`)));
  });

  const unregisterExitHook = onParentExit(() => killGroup(pid, 'SIGKILL'));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unregisterExitHook();
      killGroup(pid, 'SIGTERM');
      if (!(await exitsWithin(STOP_GRACE_MS))) {
        killGroup(pid, 'SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };

  try {
    await waitUntilReady(child, address, namespace, Object.keys(searchAttributes));
  } catch (err) {
    await stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      `Temporal dev server at ${address} did not become ready: ${message}\nLast server output:\n${output.join('\n') || '(none)'}`,
    );
  }
  const uiUrl = uiPort === undefined ? '' : `http://${ip}:${uiPort}`;
  log(`ready at ${address} (namespace ${namespace}${uiUrl ? `, UI ${uiUrl}` : ''}, pid ${pid})`);
  const kill = () => {
    stopping ??= (async () => {
      unregisterExitHook();
      killGroup(pid, 'SIGKILL');
      await exited;
    })();
    return stopping;
  };
  return { address, uiUrl, namespace, pid, stop, kill };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function waitUntilReady(
  child: ChildProcess,
  address: string,
  namespace: string,
  searchAttributeNames: string[],
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'not started yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode})`);
    }
    // The cheap TCP probe first: creating a gRPC connection to a closed port is slower and noisier.
    if (await canConnect(address)) {
      try {
        const missing = await missingSearchAttributes(address, namespace, searchAttributeNames);
        if (missing.length === 0) return;
        lastProblem = `search attributes not registered yet: ${missing.join(', ')}`;
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
      }
    } else {
      lastProblem = 'gRPC port not accepting connections';
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${READY_TIMEOUT_MS / 1000} s (${lastProblem})`);
}

function canConnect(address: string): Promise<boolean> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** Also proves the namespace exists: the call fails with NotFound until it is created. */
async function missingSearchAttributes(
  address: string,
  namespace: string,
  names: string[],
): Promise<string[]> {
  // lazy() + ensureConnected() rather than connect(), which leaks its gRPC channel when it
  // fails and so would keep this process alive after a failed start.
  const connection = Connection.lazy({ address, connectTimeout: 2_000 });
  try {
    await connection.ensureConnected();
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return names.filter((name) => !(name in customAttributes));
  } finally {
    await connection.close();
  }
}
