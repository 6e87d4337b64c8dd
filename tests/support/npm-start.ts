/**
 * `durable-inbox start` (what `npm start` runs) in a child process, as a user runs it: its own Temporal
 * dev server and embedded PGlite in a fresh data dir, every port chosen free. Resolves once the banner
 * says it is running; the test reads the banner (URLs, API key) and stops it with Ctrl-C (SIGINT).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { CLI } from './mcp-clients.js';

export interface RunningStart {
  child: ChildProcess;
  dataDir: string;
  /** Everything it printed so far. */
  stdout(): string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
}

export async function startNpmStart(env: Record<string, string> = {}): Promise<RunningStart> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-start-'));
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_CLI_PATH: await resolveTemporalCli({ log: () => {} }),
      DURABLE_INBOX_DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: '0',
      TEMPORAL_DEV_UI_PORT: '0',
      MCP_HTTP_PORT: '0',
      CODEC_SERVER_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Up to 120 s: on the shared 2-core machine under load a start has taken over 60 s.
  for (let i = 0; i < 480 && !stdout.includes('Ctrl-C stops everything'); i++) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!stdout.includes('Ctrl-C stops everything')) {
    throw new Error(`npm start printed no banner in 120 s; stderr:\n${stderr.slice(-2000)}`);
  }
  return { child, dataDir, stdout: () => stdout, exited };
}

/** Processes whose command line mentions `text` (the data dir names every process of one start). */
export function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Ctrl-C, then wait until no process of this start is left. */
export async function stopNpmStart(start: RunningStart): Promise<number | null> {
  start.child.kill('SIGINT');
  const code = await start.exited;
  // The dev server ran in its own process group; it must be gone too.
  for (let i = 0; i < 40 && processesMentioning(start.dataDir).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
  }
  return code;
}
