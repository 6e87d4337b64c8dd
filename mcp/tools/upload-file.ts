/**
 * `upload_file`: store a file in a storage bucket through the upload workflow.
 *
 * The content comes inline (base64, staged once in Postgres under its SHA-256) or as a path inside the
 * import directory (resolved with symlinks followed; nothing outside it is readable). The workflow id is
 * `upload/<tenant>/<bucket>/<sha256>` with conflict policy USE_EXISTING, so concurrent requests for the
 * same bytes join one run. Reuse is allowed after a run closes: a new run finds the stored row and
 * returns it with `deduplicated: true`, sending nothing (and re-uploads if the object was deleted since).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { recordUserFile } from '../../supabase/files.js';
import { stageContent } from '../../supabase/staged-content.js';
import { assertBucketName, assertFileName, resolveImportPath } from '../../supabase/storage/secure-path.js';
import { workflowUiUrl } from '../../temporal/client.js';
import {
  cutChars,
  detailsText,
  searchAttribute,
  summaryText,
  TenantId,
} from '../../workflows/search-attributes.js';
import {
  type FileSource,
  type UploadFileInput,
  type UploadFileResult,
  uploadFileWorkflow,
  uploadWorkflowId,
} from '../../workflows/upload-file.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';
import { readUploadProgress, type UploadProgressView } from './upload-progress.js';
import { WorkflowStatus } from './workflow-status.js';

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatus,
  fileId: z.string().optional().describe('Set once the file is stored'),
  bucket: z.string(),
  path: z.string().optional().describe('The object key in the bucket'),
  size: z.number().int(),
  sha256: z.string(),
  deduplicated: z
    .boolean()
    .optional()
    .describe('true when these bytes were already stored: nothing was sent'),
  detectedMime: z.string().nullable().optional(),
  mimeMismatch: z.boolean().optional().describe('the content is not of the declared type'),
  temporalUiUrl: z.string(),
};

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

export function registerUploadFile(server: ToolRegistry, ctx: ToolContext): void {
  const maxChars = Math.ceil(ctx.files.maxInlineBytes * 1.4) + 1024;
  server.registerTool(
    'upload_file',
    {
      title: 'Upload a file',
      description:
        'Store a file in a storage bucket through a durable Temporal workflow: SHA-256 deduplicated, ' +
        'bucket size and MIME rules checked before sending, retried on transient errors, resumable. ' +
        'Give the content as base64, or a path inside the server’s import directory. With wait=true ' +
        '(default) it returns when stored, or with status "running" before the client would time out.',
      inputSchema: {
        bucket: z.string().min(1).max(63).describe('Bucket name: lower-case letters, digits, "_" or "-"'),
        filename: z.string().min(1).max(1024).describe('File name (one segment, at most 255 bytes)'),
        content: z
          .string()
          .max(maxChars, `content is larger than the ${ctx.files.maxInlineBytes}-byte inline limit; use path`)
          .optional()
          .describe('The file as base64'),
        path: z.string().min(1).max(4096).optional().describe('A path relative to the import directory'),
        contentType: z.string().max(255).optional().describe('Declared MIME type; the content is checked'),
        tenant: tenantArg,
        wait: waitArg,
      },
      outputSchema,
      annotations: STARTS_IDEMPOTENT_WORKFLOW,
    },
    async (args, extra) => {
      if ((args.content === undefined) === (args.path === undefined)) {
        throw new UserFacingError(ErrorType.InvalidInput, 'give exactly one of content (base64) or path');
      }
      assertBucketName(args.bucket);
      assertFileName(args.filename);
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const { source, sha256, size } =
        args.content !== undefined
          ? await stageInline(ctx, tenantId, args.content)
          : await importFile(ctx, args.path!);

      // Before the upload starts: from now on the file is the user's, whatever emails share its bytes.
      await recordUserFile(ctx.sql, {
        tenantId,
        bucket: args.bucket,
        sha256,
        filename: args.filename,
        uploadedBy: ctx.principal.actor,
      });
      const input: UploadFileInput = {
        tenantId,
        bucket: args.bucket,
        filename: args.filename,
        declaredMime: args.contentType,
        source,
        sha256,
        filesTaskQueue: ctx.files.taskQueue,
      };
      const workflowId = uploadWorkflowId(tenantId, args.bucket, sha256);
      const handle = await ctx.client.workflow.start(uploadFileWorkflow, {
        taskQueue: ctx.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
        staticSummary: summaryText(
          `Upload "${cutChars(args.filename, 80)}" to ${args.bucket} (${size} bytes)`,
        ),
        staticDetails: detailsText(
          `Tenant \`${tenantId}\`\n\nSHA-256: \`${sha256}\`\n\nSource: ${source.kind}`,
        ),
      });
      const runId = handle.firstExecutionRunId;
      const base = {
        workflowId,
        runId,
        bucket: args.bucket,
        size,
        sha256,
        temporalUiUrl: workflowUiUrl(ctx.temporal, workflowId, runId),
      };
      ctx.log.info('upload_file started', { workflowId, size });
      if (!args.wait) return toolResult({ ...base, status: 'running' });

      const progressToken = extra._meta?.progressToken;
      const notify = (bytesSent: number, message: string) =>
        progressToken === undefined
          ? Promise.resolve()
          : extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: bytesSent, total: size, message },
            });
      const outcome = await waitForWorkflow<UploadFileResult, UploadProgressView>(handle, {
        waitMs: ctx.waitMs,
        signal: extra.signal,
        progress:
          progressToken === undefined
            ? undefined
            : {
                read: readUploadProgress,
                onProgress: (p) => notify(p.bytesSent, `${p.bytesSent} of ${size} bytes sent`),
              },
      });
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
      // A fast upload can finish between two polls: always report the end.
      await notify(size, outcome.result.deduplicated ? 'already stored' : 'uploaded');
      const { fileId, path, deduplicated, detectedMime, mimeMismatch } = outcome.result;
      return toolResult({
        ...base,
        status: 'completed',
        fileId,
        path,
        deduplicated,
        detectedMime,
        mimeMismatch,
      });
    },
  );
}

interface PreparedSource {
  source: FileSource;
  sha256: string;
  size: number;
}

async function stageInline(ctx: ToolContext, tenantId: string, content: string): Promise<PreparedSource> {
  if (!BASE64.test(content)) throw new UserFacingError(ErrorType.InvalidInput, 'content is not valid base64');
  const bytes = Buffer.from(content, 'base64');
  if (bytes.length > ctx.files.maxInlineBytes) {
    throw new UserFacingError(
      ErrorType.EntityTooLarge,
      `content is ${bytes.length} bytes, over the ${ctx.files.maxInlineBytes}-byte inline limit; use path`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await stageContent(ctx.sql, tenantId, sha256, bytes);
  return { source: { kind: 'staged', sha256 }, sha256, size: bytes.length };
}

/** Hash an import file by streaming it: the id of the run depends on it, and the file may be huge. */
async function importFile(ctx: ToolContext, relative: string): Promise<PreparedSource> {
  const file = await resolveImportPath(ctx.files.importDir, relative);
  const info = await stat(file);
  if (!info.isFile()) throw new UserFacingError(ErrorType.InvalidPath, `"${relative}" is not a regular file`);
  if (info.size > ctx.files.maxUploadBytes) {
    throw new UserFacingError(
      ErrorType.EntityTooLarge,
      `"${relative}" is ${info.size} bytes, over the ${ctx.files.maxUploadBytes}-byte upload limit`,
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { source: { kind: 'import', path: relative }, sha256: hash.digest('hex'), size: info.size };
}
