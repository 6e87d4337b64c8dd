/**
 * Benchmarks: figures, and ratios against a baseline measured in the same run. Never part of `npm test`.
 *   npm run bench -- ingest [--messages 5000] [--calls 200] [--analysis off] [--settle] [--set KEY=VALUE]
 *   npm run bench -- upload [--sizes 1,20,100] [--rounds 1]
 *   npm run bench -- analysis
 *   npm run bench -- rollout [--calls 5000]
 *   npm run bench -- rollup [--rows 1000000] [--batch 1000]
 *   npm run bench -- peers [--messages 2000] [--calls 50] [--systems durable,bullmq,pgboss,direct]
 *   npm run bench -- scaleout [--messages 2000] [--workers 1,2,3]
 *   npm run bench -- fairness [--import 10000] [--calls 30]
 *   npm run bench -- scale [--sizes 0,1000,100000,1000000] [--calls 100] [--searches 40] [--mailbox 300]
 *   npm run bench -- sources [--messages 2000] [--appends 20]   (IMAP sync vs ingest_mailbox; APPEND to row)
 *   npm run bench -- sources-smtp [--messages 1000]   (inbound SMTP with 10 concurrent senders)
 *   npm run bench -- events [--emails 500] [--mailbox 5000]
 *   npm run bench -- dispatch [--runs 100]   (one workflow task's floor on this server: task queue vs eager)
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  ingest: () => import('./ingest.js'),
  upload: () => import('./upload.js'),
  analysis: () => import('./analysis.js').then((m) => ({ run: () => m.benchAnalysis() })),
  rollout: () => import('./rollout.js'),
  rollup: () => import('./rollup.js'),
  scale: () => import('./scale.js'),
  fairness: () => import('./fairness.js'),
  peers: () => import('./peers.js'),
  scaleout: () => import('./scaleout.js'),
  sources: () => import('./sources.js'),
  'sources-smtp': () => import('./sources-smtp.js').then((m) => ({ run: m.runSmtp })),
  events: () => import('./events.js'),
  dispatch: () => import('./dispatch.js'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join(' | ')}> [options]\n`);
  process.exit(2);
}
await (await load()).run(args);
process.exit(0);
