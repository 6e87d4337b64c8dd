/**
 * Scale-out: the same mbox import with 1, 2 and 3 worker processes polling the same task queues
 * (the real worker, tests/support/worker-process.ts, on one prebuilt workflow bundle), the MCP server
 * in this process with no worker of its own. Prints messages per second with the ratio to one worker,
 * each worker's CPU time and peak RSS (VmHWM), and the machine's load. On one machine the workers share
 * its cores, so the figure says how far the design scales before the CPU is the limit, not how far it
 * would on more machines.
 *
 *   npm run bench -- scaleout [--messages 2000] [--workers 1,2,3]
 *   npm run bench -- scaleout --messages 10000 --workers 1      (one worker's peak RSS on 10,000 messages)
 *   npm run bench -- scaleout --messages 10000 --workers 1 --node-options="--max-old-space-size=128"
 *     (the workers' Node flags, as an operator sets them with NODE_OPTIONS)
 *   WORKER_HEAP_GROWING_PERCENT=0 WORKER_MAX_SEMI_SPACE_MB=0 MALLOC_ARENA_MAX=8 npm run bench -- scaleout ...
 *     (the workers launched with V8's and glibc's defaults instead of the supervisor's, worker-launch.ts)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../../core/config.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { WORKFLOWS_PATH } from '../../workers/worker.js';
import { type WorkerLaunch, workerLaunch } from '../../workers/worker-launch.js';
import { loadNote, peakRssMiB, rssMiB, selfCpuMs, treeCpuMs } from './load.js';
import { startBenchStack, writeMailbox } from './stack.js';
import { table, timed } from './stats.js';

interface Round {
  workers: number;
  perS: number;
  workerCpuMs: number[];
  workerRssMiB: number[];
  /** Resident set of each worker once it was ready, before the import. */
  readyRssMiB: number[];
  /** This process (MCP server and client) and the Temporal dev server, per message. */
  otherCpuMs: number;
  load: string;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string', default: '2000' },
      workers: { type: 'string', default: '1,2,3' },
      'node-options': { type: 'string', default: '' },
    },
  });
  const messages = Number(values.messages);
  const counts = values.workers.split(',').map(Number);
  const bundle = await bundleOnce();
  const bench = await startBenchStack({ database: 'durable_inbox_bench_scaleout', runWorker: false });
  // Launched as the supervisor launches a worker: its Node flags and environment (worker-launch.ts).
  const launch = workerLaunch(loadConfig({ ...bench.env, ...workerVars() }).temporal.workerMemory, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
    ...bench.env,
    WORKFLOW_BUNDLE_PATH: bundle,
    ...(values['node-options'] ? { NODE_OPTIONS: values['node-options'] } : {}),
  });
  const rounds: Round[] = [];
  try {
    for (const workers of counts) {
      const children = await Promise.all(Array.from({ length: workers }, () => spawnWorker(launch)));
      try {
        const file = writeMailbox(
          bench,
          `scaleout-${workers}.mbox`,
          generateMailbox(messages, 0, 0, `scaleout-${workers}`).mbox,
        );
        const readyRssMiB = children.map((c) => rssMiB(c.pid!));
        const other0 = selfCpuMs() + treeCpuMs(bench.temporalPid);
        const cpu0 = children.map((c) => treeCpuMs(c.pid!));
        const [, ms] = await timed(async () => {
          const { workflowId } = await bench.call('ingest_mailbox', { path: file, wait: false });
          await bench.stack.client.workflow.getHandle(workflowId as string).result();
        });
        rounds.push({
          workers,
          perS: (messages / ms) * 1000,
          workerCpuMs: children.map((c, i) => (treeCpuMs(c.pid!) - cpu0[i]!) / messages),
          workerRssMiB: children.map((c) => peakRssMiB(c.pid!)),
          readyRssMiB,
          otherCpuMs: (selfCpuMs() + treeCpuMs(bench.temporalPid) - other0) / messages,
          load: loadNote(),
        });
      } finally {
        await Promise.all(children.map(stopWorker));
      }
    }
  } finally {
    await bench.close();
  }
  const one = rounds[0]!;
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  process.stdout.write(
    `\nscale-out benchmark: a ${messages}-message mbox import with ${counts.join(', ')} worker processes ` +
      `on the same task queues (node ${launch.nodeArgs.join(' ') || 'with no flags'}, MALLOC_ARENA_MAX=${launch.env.MALLOC_ARENA_MAX}` +
      `${values['node-options'] ? `, NODE_OPTIONS ${values['node-options']}` : ''})\n\n${table([
        [
          'workers',
          'msg/s',
          'ratio',
          'CPU ms/msg per worker',
          'RSS MiB ready → peak, per worker',
          'MCP + Temporal CPU ms/msg',
          'machine',
        ],
        ...rounds.map((r) => [
          String(r.workers),
          r.perS,
          `${(r.perS / one.perS).toFixed(2)}×`,
          list(r.workerCpuMs),
          r.readyRssMiB.map((x, i) => `${x.toFixed(0)} → ${r.workerRssMiB[i]!.toFixed(0)}`).join(' / '),
          r.otherCpuMs,
          r.load,
        ]),
      ])}\n\nPostgres runs on the same machine and is not in the CPU columns.\n`,
  );
}

async function bundleOnce(): Promise<string> {
  const quiet = () => {};
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  const file = path.resolve('.cache/bench/workflow-bundle.js');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, code);
  return file;
}

/** The WORKER_* memory settings of this process's environment, for the workers' configuration. */
function workerVars(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('WORKER_') && e[1] !== undefined,
    ),
  );
}

function spawnWorker(launch: WorkerLaunch): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...launch.nodeArgs, '--import', 'tsx', path.resolve('tests/support/worker-process.ts')],
    { env: launch.env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('worker-ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
