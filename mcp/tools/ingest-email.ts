/**
 * `ingest_email`: validate and stage a raw RFC 5322 message, then start (or find) its ingestion run.
 *
 * The workflow id is the message's natural key (`email/<tenant>/<dedupKey>`), started or joined with
 * startOrJoin: concurrent calls join the running run, a later call gets the completed run's result.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { decodeRawEmail, parseEmail, sha256Hex } from '../../core/email.js';
import { UserFacingError } from '../../core/errors.js';
import { recordIngestFailure } from '../../supabase/emails.js';
import { stageContent } from '../../supabase/staged-content.js';
import { workflowUiUrl } from '../../temporal/client.js';
import {
  INGEST_LAST_STEP,
  type IngestEmailInput,
  type IngestEmailResult,
  type IngestProgress,
  ingestEmailWorkflow,
  ingestProgressQuery,
} from '../../workflows/ingest-email.js';
import {
  cutChars,
  detailsText,
  EmailFrom,
  MessageId,
  searchAttribute,
  summaryText,
  TenantId,
} from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import { progressNotifier, recordStartFailure, startOrJoin } from '../start-workflow.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';
import { WorkflowStatus } from './workflow-status.js';

export function emailWorkflowId(tenantId: string, dedupKey: string): string {
  return `email/${tenantId}/${dedupKey}`;
}

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatus,
  emailId: z.string().optional().describe('Set once the email is stored'),
  created: z.boolean().optional().describe('false when the email already existed'),
  messageId: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  attachments: z
    .array(
      z.object({
        partIndex: z.number().int(),
        filename: z.string(),
        status: z.enum(['stored', 'failed']),
        fileId: z.string().optional(),
        error: z.string().optional(),
      }),
    )
    .optional()
    .describe('Attachments this run uploaded or failed to; ingest the message again to retry failed ones'),
  rawMessage: z
    .object({ status: z.enum(['stored', 'failed', 'skipped']), error: z.string().optional() })
    .optional()
    .describe('The raw message in the raw-messages bucket; ingest the message again to retry a failure'),
  analysisWorkflowId: z
    .string()
    .nullable()
    .optional()
    .describe('The AI-analysis run started for a new email (follow it with get_workflow)'),
  temporalUiUrl: z.string(),
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
    async (args, extra) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const raw = decodeRawEmail(args.raw, args.encoding);
      const parsed = await parseEmail(raw, ctx.limits).catch(async (err: unknown) => {
        // Nothing disappears silently: a rejected message leaves a row saying why.
        if (err instanceof UserFacingError) {
          await recordIngestFailure(ctx.sql, tenantId, sha256Hex(raw), err.type, err.message);
        }
        throw err;
      });
      await stageContent(ctx.sql, tenantId, parsed.rawSha256, raw);
      const workflowId = emailWorkflowId(tenantId, parsed.dedupKey);
      const input: IngestEmailInput = {
        tenantId,
        rawSha256: parsed.rawSha256,
        dedupKey: parsed.dedupKey,
        filesTaskQueue: ctx.files.taskQueue,
      };
      const from = parsed.from[0]?.address ?? '';
      const options = {
        taskQueue: ctx.taskQueue,
        workflowId,
        args: [input] as [IngestEmailInput],
        // Bounded by construction: a hostile header can neither stop the start nor the run.
        typedSearchAttributes: [
          searchAttribute(TenantId, tenantId),
          searchAttribute(EmailFrom, from),
          ...(parsed.messageId ? [searchAttribute(MessageId, parsed.messageId)] : []),
        ],
        staticSummary: summaryText(
          `Ingest "${cutChars(parsed.subject ?? '(no subject)', 80)}" from ${cutChars(from, 120)}`,
        ),
        staticDetails: detailsText(
          `Tenant \`${tenantId}\`\n\nMessage-ID: \`${parsed.messageId ?? '(none: keyed by content)'}\`\n\n` +
            `Size: ${parsed.sizeBytes} bytes, ${parsed.attachmentCount} attachment(s)`,
        ),
      };
      // The message is staged: if no run can start, the failure is recorded against it (see
      // recordStartFailure), and the same call again completes it.
      const { handle, runId } = await recordStartFailure(ctx, tenantId, parsed.rawSha256, async () => {
        const started = await startOrJoin(ctx.client, ingestEmailWorkflow, options);
        if (started.existing && (await leftWorkUnfinished(started.handle))) {
          // The email is stored but an attachment or the raw message failed to reach storage: this
          // request is the retry that completes them.
          return startOrJoin(ctx.client, ingestEmailWorkflow, options, 'replace');
        }
        return started;
      });
      const base = {
        workflowId: handle.workflowId,
        runId,
        messageId: parsed.messageId,
        subject: parsed.subject,
        temporalUiUrl: workflowUiUrl(ctx.temporal, handle.workflowId, runId),
      };
      ctx.log.info('ingest_email started', { actor: ctx.principal.actor, workflowId: handle.workflowId });
      if (!args.wait) return toolResult({ ...base, status: 'running' });

      const outcome = await waitForWorkflow<IngestEmailResult, IngestProgress>(handle, {
        waitMs: ctx.waitMs,
        signal: extra.signal,
        progress: progressNotifier(extra, ingestProgressQuery, (p) => ({
          progress: p.step,
          total: p.total,
          message: p.stage,
        })),
      });
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        // A fast run can finish between two progress polls: always report the last step.
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: INGEST_LAST_STEP, total: INGEST_LAST_STEP, message: 'stored' },
        });
      }
      return toolResult({
        ...base,
        status: 'completed',
        emailId: outcome.result.emailId,
        created: outcome.result.created,
        attachments: outcome.result.attachments,
        rawMessage: outcome.result.rawMessage,
        analysisWorkflowId: outcome.result.analysisWorkflowId,
      });
    },
  );
}

/** Did the latest completed run leave an attachment or the raw message unstored? */
async function leftWorkUnfinished(handle: WorkflowHandle): Promise<boolean> {
  const { status } = await handle.describe();
  if (status.name !== 'COMPLETED') return false;
  const result = (await handle.result()) as IngestEmailResult;
  return (
    (result.attachments ?? []).some((a) => a.status === 'failed') || result.rawMessage?.status === 'failed'
  );
}
