/**
 * A worker in its own process, built by the project's own stack code from the environment (the test's
 * task queues, database, Temporal and storage), so a test can SIGKILL it mid-activity. It prints
 * "ready" once its workers run. Usage: WORKFLOW_BUNDLE_PATH=... node --import tsx worker-process.ts
 */
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { startStack } from '../../workers/stack.js';

const bundle = process.env.WORKFLOW_BUNDLE_PATH;
const stack = await startStack(loadConfig(), {
  log: createLogger('warn'),
  runWorker: true,
  workflowBundle: bundle ? { codePath: bundle } : undefined,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void stack.shutdown().then(() => process.exit(0));
});
