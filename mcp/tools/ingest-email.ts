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

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatusSchema,
  emailId: z.string().optional().describe('Set once the email is stored'),
  created: z.boolean().optional().describe('false when the email already existed'),
  messageId: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  attachments: z
    .array(AttachmentOutcomeSchema)
    .optional()
    .describe('Attachments this run uploaded or failed to; ingest the message again to retry failed ones'),
  rawMessage: RawMessageOutcomeSchema.optional().describe(
    'The raw message in the raw-messages bucket; ingest the message again to retry a failure',
  ),
  analysisWorkflowId: z
    .string()
    .nullable()
    .optional()
    .describe('The AI-analysis run started for a new email (follow it with get_workflow)'),
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
        'With wait=true (default) it returns when the email is stored, or with status "running" before ' +
        'the client would time out; follow up with get_workflow.',
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
