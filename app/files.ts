/**
 * `uploadFile`: store a file in a storage bucket through the upload workflow.
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
import { ErrorType, UserFacingError } from '../core/errors.js';
import { visibleFileName } from '../core/file-name.js';
import type { UploadFileResult, WorkflowStatus } from '../core/records.js';
import { recordUserFile } from '../supabase/files.js';
import { stageContent } from '../supabase/staged-content.js';
import { assertBucketName, assertFileName, resolveImportPath } from '../supabase/storage/secure-path.js';
import { tenantSlug } from '../supabase/tenants.js';
import {
  cutChars,
  detailsText,
  searchAttribute,
  summaryText,
  TenantId,
} from '../workflows/search-attributes.js';
import {
  type FileSource,
  type UploadFileInput,
  uploadFileContract,
  uploadWorkflowId,
} from '../workflows/upload-file.contract.js';
import type { AppDeps, WaitRequest } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { priorityFor } from './priority.js';
import { waitForWorkflow } from './wait.js';
import { readUploadProgress, startWorkflow, type UploadProgressView, uiLink } from './workflows.js';

export interface UploadFileRequest extends WaitRequest {
  bucket: string;
  filename: string;
  /** The file as base64; or */
  content?: string;
  /** a path relative to the import directory. */
  path?: string;
  /** Declared MIME type; the content is checked. */
  contentType?: string;
  tenant?: string;
}

export type UploadFileOutcome = {
  workflowId: string;
  runId: string;
  status: Extract<WorkflowStatus, 'running' | 'completed'>;
  bucket: string;
  size: number;
  sha256: string;
  /** Owners and admins only. */
  temporalUiUrl?: string;
} & Partial<Pick<UploadFileResult, 'fileId' | 'path' | 'deduplicated' | 'detectedMime' | 'mimeMismatch'>>;

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

export async function uploadFile(deps: AppDeps, request: UploadFileRequest): Promise<UploadFileOutcome> {
  if ((request.content === undefined) === (request.path === undefined)) {
    throw new UserFacingError(ErrorType.InvalidInput, 'give exactly one of content (base64) or path');
  }
  assertBucketName(request.bucket);
  assertFileName(request.filename);
  // Stored and shown without bidi and other invisible characters: "invoice\u202Efdp.exe" must not read
  // as a PDF. What is left must still be a name.
  const filename = visibleFileName(request.filename);
  if (filename.trim() === '') {
    throw new UserFacingError(ErrorType.InvalidKey, 'the file name has no visible characters');
  }
  assertFileName(filename);
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'upload_file');
  const { source, sha256, size } =
    request.content !== undefined
      ? await stageInline(deps, tenantId, request.content)
      : await importFile(deps, tenantId, request.path!);

  // Before the upload starts: from now on the file is the user's, whatever emails share its bytes.
  await recordUserFile(deps.sql, {
    tenantId,
    bucket: request.bucket,
    sha256,
    filename,
    uploadedBy: deps.principal.actor,
  });
  const input: UploadFileInput = {
    tenantId,
    bucket: request.bucket,
    filename,
    declaredMime: request.contentType,
    source,
    sha256,
    filesTaskQueue: deps.files.taskQueue,
  };
  const workflowId = uploadWorkflowId(tenantId, request.bucket, sha256);
  const handle = await startWorkflow(deps.temporal, uploadFileContract, {
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    priority: await priorityFor(deps.sql, tenantId, 'interactive'),
    typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
    staticSummary: summaryText(`Upload "${cutChars(filename, 80)}" to ${request.bucket} (${size} bytes)`),
    staticDetails: detailsText(`Tenant \`${tenantId}\`\n\nSHA-256: \`${sha256}\`\n\nSource: ${source.kind}`),
  });
  const runId = handle.firstExecutionRunId;
  const base = {
    workflowId,
    runId,
    bucket: request.bucket,
    size,
    sha256,
    ...uiLink(deps, tenantId, workflowId, runId),
  };
  deps.log.info('upload_file started', { workflowId, size });
  if (request.wait === false) return { ...base, status: 'running' };

  const { onProgress } = request;
  const outcome = await waitForWorkflow<UploadFileResult, UploadProgressView>(handle, {
    waitMs: deps.waitMs,
    signal: request.signal,
    progress: onProgress && {
      read: readUploadProgress,
      onProgress: (p) =>
        onProgress({ progress: p.bytesSent, total: size, message: `${p.bytesSent} of ${size} bytes sent` }),
    },
  });
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'running') return { ...base, status: 'running' };
  // A fast upload can finish between two polls: always report the end.
  await onProgress?.({
    progress: size,
    total: size,
    message: outcome.result.deduplicated ? 'already stored' : 'uploaded',
  });
  const { fileId, path, deduplicated, detectedMime, mimeMismatch } = outcome.result;
  return { ...base, status: 'completed', fileId, path, deduplicated, detectedMime, mimeMismatch };
}

interface PreparedSource {
  source: FileSource;
  sha256: string;
  size: number;
}

async function stageInline(deps: AppDeps, tenantId: string, content: string): Promise<PreparedSource> {
  if (!BASE64.test(content)) throw new UserFacingError(ErrorType.InvalidInput, 'content is not valid base64');
  const bytes = Buffer.from(content, 'base64');
  if (bytes.length > deps.files.maxInlineBytes) {
    throw new UserFacingError(
      ErrorType.EntityTooLarge,
      `content is ${bytes.length} bytes, over the ${deps.files.maxInlineBytes}-byte inline limit; use path`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await stageContent(deps.sql, tenantId, sha256, bytes);
  return { source: { kind: 'staged', sha256 }, sha256, size: bytes.length };
}

/** Hash an import file by streaming it: the id of the run depends on it, and the file may be huge. */
async function importFile(deps: AppDeps, tenantId: string, relative: string): Promise<PreparedSource> {
  const slug = await tenantSlug(deps.sql, tenantId);
  const file = await resolveImportPath(deps.files.importDir, slug, relative);
  const info = await stat(file);
  if (!info.isFile()) throw new UserFacingError(ErrorType.InvalidPath, `"${relative}" is not a regular file`);
  if (info.size > deps.files.maxUploadBytes) {
    throw new UserFacingError(
      ErrorType.EntityTooLarge,
      `"${relative}" is ${info.size} bytes, over the ${deps.files.maxUploadBytes}-byte upload limit`,
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { source: { kind: 'import', path: relative }, sha256: hash.digest('hex'), size: info.size };
}
