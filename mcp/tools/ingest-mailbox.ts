/**
 * `ingest_mailbox`: import every message of an mbox file, either a path inside the import directory or
 * uploaded content. The run's id is the mailbox's SHA-256 (`mailbox/<tenant>/<sha256>`), so importing the
 * same file again joins or returns the same run.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { MailboxReport, MailboxSource } from '../../activities/mailbox-activities.js';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { resolveImportPath } from '../../core/import-path.js';
import { stageContent } from '../../supabase/staged-content.js';
import { workflowUiUrl } from '../../temporal/client.js';
import {
  type IngestMailboxInput,
  ingestMailboxWorkflow,
  type MailboxProgress,
  mailboxProgressQuery,
} from '../../workflows/ingest-mailbox.js';
import { searchAttribute, summaryText, TenantId } from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import { progressNotifier, recordStartFailure, startOrJoin } from '../start-workflow.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';
import { WorkflowStatus } from './workflow-status.js';

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
    .describe('Stored emails whose raw message is not in storage; import the same mailbox again to retry'),
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
        'up with get_workflow.',
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
        status: WorkflowStatus,
        report: ReportSchema.optional(),
        temporalUiUrl: z.string(),
      },
      annotations: STARTS_IDEMPOTENT_WORKFLOW,
    },
    async (args, extra) => {
      if (Boolean(args.path) === Boolean(args.content)) {
        throw new UserFacingError(ErrorType.InvalidPath, 'give exactly one of `path` or `content`');
      }
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const { source, sha256, label, bytes } = args.path
        ? await fromPath(ctx, args.path)
        : await fromUpload(ctx, tenantId, args.content!);
      const workflowId = `mailbox/${tenantId}/${sha256}`;
      const input: IngestMailboxInput = {
        tenantId,
        mailboxSha256: sha256,
        source,
        concurrency: args.concurrency ?? ctx.mailbox.concurrency,
        chunkMessages: ctx.mailbox.chunkMessages,
        filesTaskQueue: ctx.files.taskQueue,
      };
      // An uploaded mailbox is staged: if no run can start, that is recorded against its SHA-256.
      const { handle, runId } = await recordStartFailure(ctx, tenantId, sha256, () =>
        startOrJoin(ctx.client, ingestMailboxWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
          staticSummary: summaryText(`Import mailbox ${label} (${bytes} bytes)`),
        }),
      );
      const base = { workflowId, runId, temporalUiUrl: workflowUiUrl(ctx.temporal, workflowId, runId) };
      if (!args.wait) return toolResult({ ...base, status: 'running' });

      const outcome = await waitForWorkflow<MailboxReport, MailboxProgress>(handle, {
        waitMs: ctx.waitMs,
        signal: extra.signal,
        progress: progressNotifier(
          extra,
          mailboxProgressQuery,
          (p) => ({ progress: p.done, total: p.total, message: `${p.done}/${p.total} messages` }),
          1000,
        ),
      });
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
      return toolResult({ ...base, status: 'completed', report: outcome.result });
    },
  );
}

async function fromPath(ctx: ToolContext, requested: string) {
  const file = await resolveImportPath(ctx.mailbox.importDir, requested);
  const info = await stat(file);
  if (!info.isFile()) throw new UserFacingError(ErrorType.InvalidPath, `"${requested}" is not a file`);
  // The mailbox's identity is its content; hashing streams, so the file can be larger than memory.
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const relative = path.relative(await resolveImportPath(ctx.mailbox.importDir, '.'), file);
  const source: MailboxSource = { kind: 'path', path: relative };
  return { source, sha256: hash.digest('hex'), label: relative, bytes: info.size };
}

async function fromUpload(ctx: ToolContext, tenantId: string, content: string) {
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new UserFacingError(ErrorType.InvalidEmail, 'content is not valid base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > ctx.mailbox.maxUploadBytes) {
    throw new UserFacingError(
      ErrorType.MailboxTooLarge,
      `the mailbox is ${bytes.length} bytes, over the ${ctx.mailbox.maxUploadBytes}-byte upload limit (MAX_MAILBOX_UPLOAD_BYTES); put it in the import directory and pass path instead`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await stageContent(ctx.sql, tenantId, sha256, bytes);
  const source: MailboxSource = { kind: 'upload', sha256 };
  return { source, sha256, label: `upload ${sha256.slice(0, 12)}`, bytes: bytes.length };
}
