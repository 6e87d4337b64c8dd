/**
 * A worker in its own process, for tests that kill workers: configured from the environment like the
 * real `durable-inbox worker`, using the run's prebuilt workflow bundle.
 */
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { startStack } from '../../workers/stack.js';

const bundle = process.env.WORKFLOW_BUNDLE_PATH;
if (!bundle) throw new Error('WORKFLOW_BUNDLE_PATH is required');
const stack = await startStack(loadConfig(process.env), {
  log: createLogger('warn'),
  runWorker: true,
  workflowBundle: { codePath: bundle },
});
process.stdout.write('worker-ready\n');
process.once('SIGTERM', () => {
  void stack.shutdown().then(() => process.exit(0));
});
