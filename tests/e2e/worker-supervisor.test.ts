/**
 * `durable-inbox worker` supervises its worker (issue 14): the worker runs in a child process, and when
 * that child dies (here SIGKILLed, as the crash policy's exit 70 or the OOM killer would end it) the
 * supervisor logs it and starts a new one after a backoff. SIGTERM stops both, and no process is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../support/harness.js';

interface LogLine {
  msg: string;
  pid?: number;
  nodeArgs?: string[];
  restarts?: number;
  restartInMs?: number;
  signal?: string | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('durable-inbox worker', () => {
  let supervisor: ChildProcess | undefined;
  const children: number[] = [];
  afterAll(() => {
    supervisor?.kill('SIGKILL');
    for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('restarts a worker that died, says so, and stops cleanly', { timeout: 120_000 }, async () => {
    const lines: LogLine[] = [];
    const waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
    const waitFor = (test: (l: LogLine) => boolean) =>
      new Promise<LogLine>((resolve) => {
        const found = lines.find(test);
        if (found) resolve(found);
        else waiters.push({ test, resolve });
      });
    supervisor = spawn(process.execPath, [path.resolve('bin/durable-inbox.mjs'), 'worker'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv({ LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const w of waiters.splice(0)) {
          if (w.test(line)) w.resolve(line);
          else waiters.push(w);
        }
      }
    };
    supervisor.stdout?.on('data', onData);
    supervisor.stderr?.on('data', onData);

    const first = await waitFor((l) => l.msg === 'worker process started' && l.restarts === 0);
    children.push(first.pid!);
    expect(first.pid).not.toBe(supervisor.pid);
    // Launched with the memory defaults (workers/worker-launch.ts), as its log line says.
    const argv = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(1, 3)).toEqual(['--heap-growing-percent=20', '--max-semi-space-size=4']);
    expect(readFileSync(`/proc/${first.pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
    expect(first).toMatchObject({ nodeArgs: ['--heap-growing-percent=20', '--max-semi-space-size=4'] });
    process.kill(first.pid!, 'SIGKILL');

    const exited = await waitFor((l) => l.msg === 'worker process exited; restarting it');
    expect(exited).toMatchObject({ pid: first.pid, signal: 'SIGKILL', restarts: 1, restartInMs: 1000 });
    const second = await waitFor((l) => l.msg === 'worker process started' && l.restarts === 1);
    children.push(second.pid!);
    expect(second.pid).not.toBe(first.pid);
    expect(alive(second.pid!)).toBe(true);

    const code = await new Promise<number | null>((resolve) => {
      supervisor?.once('exit', (c) => resolve(c));
      supervisor?.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(alive(second.pid!)).toBe(false);
  });
});
