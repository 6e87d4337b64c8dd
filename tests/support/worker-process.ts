/**
 * A worker in its own process, for tests that kill workers: configured from the environment like the
 * real `durable-inbox worker`, using the run's prebuilt workflow bundle.
 */
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { startStack } from '../../workers/stack.js';
import { exitOnUnexpected } from '../../workers/supervise.js';

const bundle = process.env.WORKFLOW_BUNDLE_PATH;
if (!bundle) throw new Error('WORKFLOW_BUNDLE_PATH is required');
const log = createLogger('warn');
// The real worker's policy: an unexpected exception is logged and ends the process (exit 70).
exitOnUnexpected(log);
const stack = await startStack(loadConfig(process.env), {
  log,
  runWorker: true,
  workflowBundle: { codePath: bundle },
});
process.stdout.write('worker-ready\n');
process.once('SIGTERM', () => {
  void stack.shutdown().then(() => process.exit(0));
});
