/**
 * What one workflow task costs on this Temporal server before any of the project's code runs: a trivial
 * workflow (and one with a local activity) started and awaited one at a time, through the task queue and
 * with eager start. Read from each run's history: the wait from the task's scheduling to its start (the
 * server's dispatch through matching to a poller that is already waiting), and the worker's time on it.
 * The floor under `ingest_email`'s latency (README: Performance).
 *   npm run bench -- dispatch [--runs 100]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { eventMs as ms, percentile, table } from './stats.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string', default: '100' } } });
  const runs = Number(values.runs);
  const quiet = () => {};
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    log: quiet,
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection,
    taskQueue: 'dispatch-bench',
    workflowsPath: fileURLToPath(new URL('./dispatch-workflows/index.ts', import.meta.url)),
    activities: { noop: async () => 1 },
  });
  const running = worker.run();
  // On the worker's own connection, so eager start can hand the first task to it.
  const client = new Client({ connection: connection as never });
  const rows: (string | number)[][] = [
    ['workflow, start', 'start → result p50 ms', 'p95 ms', 'task wait p50 ms', 'worker time p50 ms'],
  ];
  try {
    for (const type of ['trivialWorkflow', 'localStepWorkflow']) {
      for (const eager of [false, true]) {
        const total: number[] = [];
        const wait: number[] = [];
        const work: number[] = [];
        for (let i = 0; i < runs + 5; i++) {
          const started = performance.now();
          const handle = await client.workflow.start(type, {
            taskQueue: 'dispatch-bench',
            workflowId: `dispatch-${type}-${eager}-${i}-${Date.now()}`,
            requestEagerStart: eager,
          });
          await handle.result();
          const took = performance.now() - started;
          if (i < 5) continue; // warm-up
          const events = (await handle.fetchHistory()).events ?? [];
          const startedAt = events.find((e) => e.workflowTaskStartedEventAttributes);
          total.push(took);
          wait.push(ms(startedAt) - ms(events[1]));
          work.push(ms(events.find((e) => e.workflowTaskCompletedEventAttributes)) - ms(startedAt));
        }
        const p = (xs: number[], q: number) =>
          percentile(
            [...xs].sort((a, b) => a - b),
            q,
          );
        rows.push([
          `${type}, ${eager ? 'eager' : 'task queue'}`,
          p(total, 50),
          p(total, 95),
          p(wait, 50),
          p(work, 50),
        ]);
      }
    }
  } finally {
    worker.shutdown();
    await running;
    await server.stop();
  }
  process.stdout.write(
    `dispatch benchmark: ${runs} runs each, one at a time (Temporal dev server)\n\n${table(rows)}\n`,
  );
}
