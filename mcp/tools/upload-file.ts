/**
 * `upload_file`: store a file in a storage bucket through the upload workflow (app/files.ts: uploadFile).
 */
import { z } from 'zod';
import { uploadFile } from '../../app/files.js';
import { UploadFileResultSchema, WorkflowStatusSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STARTS_IDEMPOTENT_WORKFLOW, tenantArg, waitArg } from '../tool-schemas.js';

const stored = UploadFileResultSchema.shape;
const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatusSchema,
  fileId: stored.fileId.optional().describe('Set once the file is stored'),
  bucket: stored.bucket,
  path: stored.path.optional().describe('The object key in the bucket'),
  size: stored.size,
  sha256: stored.sha256,
  deduplicated: stored.deduplicated
    .optional()
    .describe('true when these bytes were already stored: nothing was sent'),
  detectedMime: stored.detectedMime.optional(),
  mimeMismatch: stored.mimeMismatch.optional().describe('the content is not of the declared type'),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
};

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
        bucket: z
          .string()
          .min(1)
          .max(63)
          .describe(
            'Bucket name: lower-case letters, digits, "_" or "-"; one the server has (STORAGE_BUCKETS, ' +
              'default "uploads"), else NoSuchBucket. Its type rule checks what the content is, not contentType',
          ),
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
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await uploadFile(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
