/**
 * `ingest_mailbox`: import every message of an mbox file, either a path inside the import directory or
 * uploaded content (app/ingest.ts: importMailbox).
 */
import { z } from 'zod';
import { importMailbox } from '../../app/ingest.js';
import { WorkflowStatusSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';

const ReportSchema = z.object({
  scanned: z.number().int(),
  pending: z.number().int(),
  stored: z.number().int(),
  duplicates: z.number().int(),
  failed: z.number().int(),
  failures: z.array(z.object({ seq: z.number().int(), reason: z.string(), detail: z.string().nullable() })),
  rawNotArchived: z
    .number()
    .int()
    .describe(
      "Emails of the mailbox's messages (stored now or before) whose raw message is not in storage; import the same mailbox again to retry",
    ),
  // Optional: the reports of runs from before these counts lack them.
  attachmentsFailed: z
    .number()
    .int()
    .optional()
    .describe('Attachments of those emails whose upload failed; import the same mailbox again to retry'),
  attachmentsPending: z
    .number()
    .int()
    .optional()
    .describe('Attachments not uploaded yet (while the import runs)'),
});

export function registerIngestMailbox(server: ToolRegistry, ctx: ToolContext): void {
  const maxChars = Math.ceil(ctx.mailbox.maxUploadBytes * 1.4) + 1024;
  server.registerTool(
    'ingest_mailbox',
    {
      title: 'Import an mbox mailbox',
      description:
        'Ingest every message of an mbox file through a durable batch workflow: give `path` (inside the ' +
        'import directory) or `content` (base64). Bad messages are recorded as failed and never stop the ' +
        'batch; duplicates are skipped. Returns a report, or status "running" for long imports: follow ' +
        'up with get_workflow. When the report shows raw messages or attachments missing (storage ' +
        'failed), importing the same file again runs only that missing work.',
      inputSchema: {
        path: z.string().min(1).max(1024).optional().describe('mbox file, relative to the import directory'),
        content: z
          .string()
          .min(1)
          .max(maxChars, `content is larger than the ${ctx.mailbox.maxUploadBytes}-byte upload limit`)
          .optional()
          .describe('The mbox file itself, base64'),
        tenant: tenantArg,
        concurrency: z.number().int().min(1).max(64).optional().describe('Slices ingested at once'),
        wait: waitArg,
      },
      outputSchema: {
        workflowId: z.string(),
        runId: z.string(),
        status: WorkflowStatusSchema,
        report: ReportSchema.optional(),
        temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
      },
      annotations: STARTS_IDEMPOTENT_WORKFLOW,
    },
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await importMailbox(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
