/**
 * `ingest_email`: validate and stage a raw RFC 5322 message, then start (or find) its ingestion run.
 *
 * The workflow id is the message's natural key (`email/<tenant>/<dedupKey>`) with conflict policy
 * USE_EXISTING and reuse policy ALLOW_DUPLICATE_FAILED_ONLY: concurrent calls join the running run, a
 * later call gets the completed run's result, and only a failed run may be retried by a new one.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { decodeRawEmail, type ParsedEmail, parseEmail } from '../../core/email.js';
import { stageRawMessage } from '../../supabase/emails.js';
import { workflowUiUrl } from '../../workers/temporal.js';
import {
  INGEST_LAST_STEP,
  type IngestEmailInput,
  type IngestEmailResult,
  type IngestProgress,
  ingestEmailWorkflow,
  ingestProgressQuery,
} from '../../workflows/ingest-email.js';
import { EmailFrom, MessageId, TenantId } from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import { progressReporter } from '../progress.js';
import { toolError, toolResult } from '../tool-result.js';
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
  analysisWorkflowId: z
    .string()
    .nullable()
    .optional()
    .describe('The AI-analysis run started for a new email (follow it with get_workflow)'),
  temporalUiUrl: z.string(),
};

export function registerIngestEmail(server: McpServer, ctx: ToolContext): void {
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
        tenant: z.string().max(100).optional().describe('Organization id or slug; defaults to your own'),
        wait: z.boolean().default(true).describe('Wait for the result (bounded; see description)'),
      },
      outputSchema,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      try {
        const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
        const raw = decodeRawEmail(args.raw, args.encoding);
        const parsed = await parseEmail(raw, ctx.limits);
        await stageRawMessage(ctx.sql, tenantId, parsed.rawSha256, raw);
        const { handle, runId } = await startIngestion(ctx, tenantId, parsed);
        const base = {
          workflowId: handle.workflowId,
          runId,
          messageId: parsed.messageId,
          subject: parsed.subject,
          temporalUiUrl: workflowUiUrl(ctx.temporal, handle.workflowId, runId),
        };
        ctx.log.info('ingest_email started', { actor: ctx.principal.actor, workflowId: handle.workflowId });
        if (!args.wait) return toolResult({ ...base, status: 'running' });

        const reporter = progressReporter(extra, ingestProgressQuery, (p) => ({
          step: p.step,
          total: p.total,
          message: p.stage,
        }));
        const outcome = await waitForWorkflow<IngestEmailResult, IngestProgress>(handle, {
          waitMs: ctx.waitMs,
          signal: extra.signal,
          progress: reporter.progress,
        });
        if (outcome.status === 'failed') return toolError(outcome.failure);
        if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
        await reporter.finish({ step: INGEST_LAST_STEP, total: INGEST_LAST_STEP, message: 'stored' });
        return toolResult({
          ...base,
          status: 'completed',
          emailId: outcome.result.emailId,
          created: outcome.result.created,
          analysisWorkflowId: outcome.result.analysisWorkflowId,
        });
      } catch (err) {
        return toolError(err);
      }
    },
  );
}

async function startIngestion(
  ctx: ToolContext,
  tenantId: string,
  email: ParsedEmail,
): Promise<{ handle: WorkflowHandle; runId: string }> {
  const workflowId = emailWorkflowId(tenantId, email.dedupKey);
  const input: IngestEmailInput = { tenantId, rawSha256: email.rawSha256, dedupKey: email.dedupKey };
  try {
    const handle = await ctx.client.workflow.start(ingestEmailWorkflow, {
      taskQueue: ctx.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: TenantId, value: tenantId },
        { key: EmailFrom, value: email.from[0]?.address ?? '' },
        ...(email.messageId ? [{ key: MessageId, value: email.messageId.slice(0, 255) }] : []),
      ],
      staticSummary: `Ingest "${truncate(email.subject ?? '(no subject)', 80)}" from ${email.from[0]?.address}`,
      staticDetails:
        `Tenant \`${tenantId}\`\n\nMessage-ID: \`${email.messageId ?? '(none: keyed by content)'}\`\n\n` +
        `Size: ${email.sizeBytes} bytes, ${email.attachmentCount} attachment(s)`,
    });
    return { handle, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The run for this message already completed: its result is the answer.
    const handle = ctx.client.workflow.getHandle(workflowId);
    return { handle, runId: (await handle.describe()).runId };
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
