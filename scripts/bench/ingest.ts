/**
 * Ingestion benchmark on the real stack (Temporal dev server, PostgreSQL, worker, MCP over HTTP):
 *  - mbox throughput: a generated mailbox through ingest_mailbox, in messages per second;
 *  - single-message latency: ingest_email calls, MCP call to committed row, p50 and p95;
 *  - CPU per single message: this process (worker + MCP server + client) and the Temporal dev server;
 *  - peak RSS of this process (it hosts the worker and the MCP server).
 * `--analysis off` runs with AI_ANALYSIS_ON_INGEST=false (no plan step, no analysis child); `--set KEY=VALUE`
 * (repeatable) sets any other setting, e.g. `--set TEMPORAL_EAGER_START=false`. `--settle` waits, after
 * each call, for its run and its analysis child to end before the next call: each message then meets an
 * idle worker, instead of the tails of the messages before it (archive, analysis) running beside it.
 * Each is compared with a direct-insert baseline in the same process and database: the same parse, the
 * same SQL and the same raw-message archive to storage, with no Temporal.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ensureOrganization } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { directBaseline, singleMessage } from './direct.js';
import { breakdown, medianRows } from './history.js';
import { settingsOf, startBenchStack, writeMailbox } from './stack.js';
import { groupCpuMs, percentile, table, timed } from './stats.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string', default: '5000' },
      calls: { type: 'string', default: '200' },
      analysis: { type: 'string', default: 'on' },
      set: { type: 'string', multiple: true, default: [] },
      settle: { type: 'boolean', default: false },
    },
  });
  const messages = Number(values.messages);
  const calls = Number(values.calls);
  const analysis = values.analysis !== 'off';

  const bench = await startBenchStack({
    database: 'durable_inbox_bench',
    env: {
      AI_ANALYSIS_ON_INGEST: String(analysis),
      ...settingsOf(values.set),
    },
  });
  try {
    const { config, stack, call } = bench;

    // --- mbox throughput ---
    const mailbox = generateMailbox(messages, 0, 0, 'bench');
    const file = writeMailbox(bench, 'bench.mbox', mailbox.mbox);
    const [, mboxMs] = await timed(async () => {
      const { workflowId } = await call('ingest_mailbox', { path: file, wait: false });
      await stack.client.workflow.getHandle(workflowId as string).result();
    });
    const direct = directBaseline(
      stack.sql,
      config,
      (await ensureOrganization(stack.sql, 'bench-direct')).id,
    );
    const [, directMboxMs] = await timed(() => direct.mailbox(mailbox.mbox));

    // --- single-message latency ---
    const viaMcp: number[] = [];
    const runs: { workflowId: string; runId: string }[] = [];
    const cpuBefore = process.cpuUsage();
    const temporalCpuBefore = groupCpuMs(bench.temporalPid);
    for (let i = 0; i < calls; i++) {
      const [out, callMs] = await timed(() => call('ingest_email', { raw: singleMessage(i, 'mcp') }));
      viaMcp.push(callMs);
      runs.push(out as { workflowId: string; runId: string });
      if (values.settle) {
        const ended = (await stack.client.workflow.getHandle(out.workflowId as string).result()) as {
          analysisWorkflowId: string | null;
        };
        if (ended.analysisWorkflowId) {
          await stack.client.workflow.getHandle(ended.analysisWorkflowId).result();
        }
      }
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerMessageMs = (cpu.user + cpu.system) / 1000 / calls;
    const temporalCpuPerMessageMs = (groupCpuMs(bench.temporalPid) - temporalCpuBefore) / calls;
    const histories = await Promise.all(
      runs.map(async (r) =>
        breakdown(await stack.client.workflow.getHandle(r.workflowId, r.runId).fetchHistory()),
      ),
    );
    const viaSql: number[] = [];
    for (let i = 0; i < calls; i++)
      viaSql.push((await timed(() => direct.single(singleMessage(i, 'sql'))))[1]);
    viaMcp.sort((a, b) => a - b);
    viaSql.sort((a, b) => a - b);

    const rate = (n: number, ms: number) => (n / ms) * 1000;
    process.stdout.write(
      `\ningest benchmark: ${messages} mbox messages, ${calls} single calls, analysis ${analysis ? 'on' : 'off'}${values.settle ? ', each run settled before the next call' : ''}${values.set.length ? `, ${values.set.join(' ')}` : ''} (${os.cpus().length} cores)\n\n${table(
        [
          ['figure', 'durable-inbox', 'direct baseline', 'ratio'],
          [
            'mbox messages/s',
            rate(messages, mboxMs),
            rate(messages, directMboxMs),
            rate(messages, mboxMs) / rate(messages, directMboxMs),
          ],
          [
            'single p50 ms',
            percentile(viaMcp, 50),
            percentile(viaSql, 50),
            percentile(viaMcp, 50) / percentile(viaSql, 50),
          ],
          [
            'single p95 ms',
            percentile(viaMcp, 95),
            percentile(viaSql, 95),
            percentile(viaMcp, 95) / percentile(viaSql, 95),
          ],
        ],
      )}\n\none single message, medians over ${calls} runs (from their event histories)\n${table([
        ['figure', 'value'],
        ...medianRows(histories),
      ])}\n\nCPU of this process (worker + MCP server + client) per single message: ${cpuPerMessageMs.toFixed(1)} ms` +
        ` + Temporal dev server ${temporalCpuPerMessageMs.toFixed(1)} ms (Postgres not counted)` +
        `\npeak RSS of this process (worker + MCP server + baseline): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
    );
  } finally {
    await bench.close();
  }
}
