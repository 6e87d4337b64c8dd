/**
 * `ingest_email`: validate and stage a raw RFC 5322 message, then start (or find) its ingestion run
 * (app/ingest.ts: ingestEmail).
 */
import { z } from 'zod';
import { ingestEmail } from '../../app/ingest.js';
import {
  AttachmentOutcomeSchema,
  RawMessageOutcomeSchema,
  WorkflowStatusSchema,
} from '../../core/records.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';

/** Fields the run decides after the row is committed read this until the run completes. */
const pending = z.literal('pending');

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatusSchema.describe(
    'The run: "running" while the archive, attachments and analysis go on after the email is committed',
  ),
  emailId: z.string().optional().describe('Set once the email is committed'),
  created: z.boolean().optional().describe('false when the email already existed'),
  threadId: z.string().optional().describe('The thread the email joined when it was stored'),
  messageId: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  attachments: z
    .union([z.array(AttachmentOutcomeSchema), pending])
    .optional()
    .describe(
      'Attachments this run uploaded or failed to ("pending" while it uploads them: get_workflow gives them); ingest the message again to retry failed ones',
    ),
  rawMessage: z
    .union([RawMessageOutcomeSchema, z.object({ status: pending })])
    .optional()
    .describe(
      'The raw message in the raw-messages bucket ("pending" while the run archives it); ingest the message again to retry a failure',
    ),
  analysisWorkflowId: z
    .string()
    .nullable()
    .optional()
    .describe(
      'The AI-analysis run started for a new email (follow it with get_workflow); "pending" until the run has planned it, null when there is none',
    ),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
};

export function registerIngestEmail(server: ToolRegistry, ctx: ToolContext): void {
  // base64 grows content by 4/3; leave room for line breaks.
  const maxChars = Math.ceil(ctx.limits.maxEmailBytes * 1.4) + 1024;
  server.registerTool(
    'ingest_email',
    {
      title: 'Ingest an email',
      description:
        'Store a raw RFC 5322 email message (headers + body) through a durable Temporal workflow. ' +
        'Idempotent: the same message (same Message-ID, or same content when it has none) is stored once. ' +
        'With wait=true (default) it returns as soon as the email is committed (emailId set), while the ' +
        'same run goes on to archive the raw message, upload attachments and start the analysis: those ' +
        'fields read "pending" until get_workflow gives them. Without emailId it returns with status ' +
        '"running" before the client would time out; follow up with get_workflow.',
      inputSchema: {
        raw: z
          .string()
          .min(1, 'raw is empty: pass the full message, headers and body')
          .max(maxChars, `raw is larger than the ${ctx.limits.maxEmailBytes}-byte message limit`)
          .describe('The full message. Plain text, or base64 when it has 8-bit content (set encoding).'),
        encoding: z.enum(['text', 'base64']).default('text').describe('How `raw` is encoded'),
        tenant: tenantArg,
        wait: waitArg,
      },
      outputSchema,
      annotations: STARTS_IDEMPOTENT_WORKFLOW,
    },
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await ingestEmail(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
