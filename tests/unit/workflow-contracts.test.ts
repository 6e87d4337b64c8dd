/**
 * Contracts name workflows by their exported names: a client starting `contract.workflowType` must reach
 * the function the worker registers, with the signature the contract declares.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  type AnalyzeEmailWorkflow,
  analysisWorkflowId,
  analyzeEmailContract,
} from '../../workflows/analyze-email.contract.js';
import * as workflows from '../../workflows/index.js';
import { type IngestEmailWorkflow, ingestEmailContract } from '../../workflows/ingest-email.contract.js';
import {
  type IngestMailboxWorkflow,
  ingestMailboxContract,
} from '../../workflows/ingest-mailbox.contract.js';
import { type MailboxSyncWorkflow, mailboxSyncContract } from '../../workflows/mailbox-sync.contract.js';
import {
  type PromptRolloutWorkflow,
  promptRolloutContract,
  promptRolloutWorkflowId,
} from '../../workflows/prompt-rollout.contract.js';
import {
  type RetentionRollupWorkflow,
  retentionRollupContract,
} from '../../workflows/retention-rollup.contract.js';
import { type UploadFileWorkflow, uploadFileContract } from '../../workflows/upload-file.contract.js';
import {
  type WebhookDeliveryWorkflow,
  webhookDeliveryContract,
} from '../../workflows/webhook-delivery.contract.js';

// Compile-time: each workflow function has its contract's signature.
const signatures: [
  AnalyzeEmailWorkflow,
  IngestEmailWorkflow,
  IngestMailboxWorkflow,
  MailboxSyncWorkflow,
  PromptRolloutWorkflow,
  RetentionRollupWorkflow,
  UploadFileWorkflow,
  WebhookDeliveryWorkflow,
] = [
  workflows.analyzeEmailWorkflow,
  workflows.ingestEmailWorkflow,
  workflows.ingestMailboxWorkflow,
  workflows.mailboxSyncWorkflow,
  workflows.promptRolloutWorkflow,
  workflows.retentionRollupWorkflow,
  workflows.uploadFileWorkflow,
  workflows.webhookDeliveryWorkflow,
];

describe('workflow contracts', () => {
  it('name a workflow the worker registers, for every registered workflow', () => {
    const contracts = [
      analyzeEmailContract,
      ingestEmailContract,
      ingestMailboxContract,
      mailboxSyncContract,
      promptRolloutContract,
      retentionRollupContract,
      uploadFileContract,
      webhookDeliveryContract,
    ];
    expect(signatures).toHaveLength(contracts.length);
    const registered = Object.keys(workflows).sort();
    expect(contracts.map((c) => c.workflowType).sort()).toEqual(registered);
    for (const c of contracts)
      expect(typeof (workflows as Record<string, unknown>)[c.workflowType]).toBe('function');
  });

  it('import nothing but types, @temporalio/workflow, core and each other', async () => {
    const files = (await readdir('workflows')).filter(
      (f) => f.endsWith('.contract.ts') || f === 'retry-presets.ts',
    );
    for (const file of files) {
      const text = await readFile(`workflows/${file}`, 'utf8');
      for (const [, typeOnly, from] of text.matchAll(/^import (type )?[^;]*? from '([^']+)';/gms)) {
        const allowed =
          from === '@temporalio/workflow' ||
          from!.startsWith('../core/') ||
          /^\.\/[\w-]+(\.contract)?\.js$/.test(from!) ||
          typeOnly !== undefined;
        expect(allowed, `${file} imports ${from}`).toBe(true);
      }
    }
  });

  it('give every prompt scope its own rollout and analysis ids; the global ones keep their old form', () => {
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const ids = [null, a, b].map((scope) => promptRolloutWorkflowId(scope, 'analyze_email', 'openai'));
    expect(ids).toEqual([
      'prompt-rollout/analyze_email/openai',
      `prompt-rollout/tenant/${a}/analyze_email/openai`,
      `prompt-rollout/tenant/${b}/analyze_email/openai`,
    ]);
    // A tenant's v1 and the global v1 are different prompts: their analyses are different runs.
    expect(analysisWorkflowId(a, 'e', 'openai', 1, 'global')).toBe(`analysis/${a}/e/openai-v1`);
    expect(analysisWorkflowId(a, 'e', 'openai', 1, 'tenant')).toBe(`analysis/${a}/e/openai-tenant-v1`);
  });

  it('leave no retry literal in workflow code: every policy comes from the presets', async () => {
    for (const file of await readdir('workflows')) {
      if (file === 'retry-presets.ts') continue;
      expect(await readFile(`workflows/${file}`, 'utf8'), file).not.toMatch(/backoffCoefficient/);
    }
  });
});
