// Every workflow the worker registers. Workflow code is bundled: keep it deterministic (no I/O, no
// Node built-ins, no Date.now()) and import only types from activities/.

export { analyzeEmailWorkflow } from './analyze-email.js';
export { ingestEmailWorkflow } from './ingest-email.js';
export { ingestMailboxWorkflow } from './ingest-mailbox.js';
export { mailboxSyncWorkflow } from './mailbox-sync.js';
export { promptRolloutWorkflow } from './prompt-rollout.js';
export { retentionRollupWorkflow } from './retention-rollup.js';
export { uploadFileWorkflow } from './upload-file.js';
export { webhookDeliveryWorkflow } from './webhook-delivery.js';
