/**
 * Fairness between tenants: tenant B's single-message latency (ingest_email, call to committed row)
 * while tenant A imports a mailbox, against B's latency with nothing else running, on a dev server with
 * task-queue fairness on and then on one with it off, in one run.
 *
 *   npm run bench -- fairness [--import 10000] [--calls 30]
 */
import { parseArgs } from 'node:util';
import { generateMailbox } from '../../tests/support/mbox.js';
import { singleMessage } from './direct.js';
import { loadNote } from './load.js';
import { settingsOf, startBenchStack, type ToolCall, writeMailbox } from './stack.js';
import { percentile, table, timed } from './stats.js';

interface Round {
  fairness: boolean;
  idle: number[];
  busy: number[];
  importDone: boolean;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      import: { type: 'string', default: '10000' },
      calls: { type: 'string', default: '30' },
      /** Any setting for both rounds, e.g. `--set MAILBOX_SLICE_MESSAGES=50` (repeatable). */
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const size = Number(values.import);
  const calls = Number(values.calls);
  const rounds: Round[] = [];
  const settings = settingsOf(values.set);
  for (const fairness of [true, false]) rounds.push(await round(fairness, size, calls, settings));

  const p = (xs: number[], q: number) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      q,
    );
  process.stdout.write(
    `\nfairness benchmark: tenant B's single messages (${calls} calls) while tenant A imports ${size} ` +
      `messages, against B alone${values.set.length ? `, ${values.set.join(' ')}` : ''} (${loadNote()})\n\n${table(
        [
          [
            'dev server',
            'B idle p50 ms',
            'B idle p95 ms',
            'B during import p50',
            'B during import p95',
            'p95 ratio',
          ],
          ...rounds.map((r) => [
            r.fairness ? 'fairness on' : 'fairness off',
            p(r.idle, 50),
            p(r.idle, 95),
            p(r.busy, 50),
            p(r.busy, 95),
            `${(p(r.busy, 95) / p(r.idle, 95)).toFixed(2)}×`,
          ]),
        ],
      )}\n` +
      rounds
        .filter((r) => r.importDone)
        .map((r) => `  (fairness ${r.fairness ? 'on' : 'off'}: the import finished before B's calls did)\n`)
        .join(''),
  );
}

async function round(
  fairness: boolean,
  size: number,
  calls: number,
  env: Record<string, string>,
): Promise<Round> {
  const bench = await startBenchStack({
    database: `durable_inbox_bench_fair_${fairness ? 'on' : 'off'}`,
    fairness,
    env,
  });
  try {
    const tenantB = await bench.callAs('bench-b');
    const singles = async (call: ToolCall, tag: string) => {
      const out: number[] = [];
      for (let i = 0; i < calls; i++)
        out.push((await timed(() => call('ingest_email', { raw: singleMessage(i, tag) })))[1]);
      return out;
    };
    const idle = await singles(tenantB, `idle-${fairness}`);
    const file = writeMailbox(bench, 'a.mbox', generateMailbox(size, 0, 0, `fair-${fairness}`).mbox);
    const { workflowId } = await bench.call('ingest_mailbox', { path: file, wait: false });
    const result = bench.stack.client.workflow.getHandle(workflowId as string).result();
    let importDone = false;
    void result.then(() => {
      importDone = true;
    });
    // Let the import fill the queues before B calls.
    await new Promise((r) => setTimeout(r, 2000));
    const busy = await singles(tenantB, `busy-${fairness}`);
    const doneBeforeB = importDone;
    await result;
    return { fairness, idle, busy, importDone: doneBeforeB };
  } finally {
    await bench.close();
  }
}
