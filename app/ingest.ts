/**
 * Mail in: one raw message (`ingestEmail`) or a whole mbox file (`importMailbox`). Both validate, stage
 * the content in Postgres under its SHA-256 and start (or join) the run keyed by it; a message the parser
 * refuses, or a run that cannot start, leaves an `ingest_failures` row saying why.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeRawEmail, type ParsedEmail, parseEmail, sha256Hex } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { importRelative, resolveImportPath } from '../core/import-path.js';
import { type EmailSource, metrics } from '../core/metrics.js';
import type { AttachmentOutcome, RawMessageOutcome, WorkflowStatus } from '../core/records.js';
import { mailSearchValue } from '../core/search-privacy.js';
import { recordIngestFailure } from '../supabase/emails.js';
import { mailboxLeftovers } from '../supabase/mailboxes.js';
import { stageContent } from '../supabase/staged-content.js';
import { tenantSlug } from '../supabase/tenants.js';
import {
  emailWorkflowId,
  INGEST_LAST_STEP,
  type IngestEmailInput,
  type IngestEmailResult,
  type IngestStored,
  ingestEmailContract,
  ingestStoredUpdate,
  storedOf,
} from '../workflows/ingest-email.contract.js';
import {
  type IngestMailboxInput,
  ingestMailboxContract,
  type MailboxProgress,
  type MailboxReport,
  type MailboxSource,
  mailboxProgressQuery,
  mailboxWorkflowId,
} from '../workflows/ingest-mailbox.contract.js';
import {
  cutChars,
  detailsText,
  EmailFrom,
  IngestStatus,
  MessageId,
  searchAttribute,
  summaryText,
  TenantId,
} from '../workflows/search-attributes.js';
import type { AppDeps, WaitRequest } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { priorityFor } from './priority.js';
import { progressOf, waitForUpdate, waitForWorkflow } from './wait.js';
import { recordStartFailure, startOrJoin, uiLink, withinCallBound } from './workflows.js';

// ---- One message ----------------------------------------------------------------------------------

export interface IngestEmailRequest extends WaitRequest {
  raw: string;
  encoding?: 'text' | 'base64';
  tenant?: string;
}

/**
 * How long a call waits for its eager run's store step to say it committed before it asks the run
 * (the `stored` update) instead: far above the step's own time, so only a task that ran elsewhere, a
 * failed step or a dead worker ends up waiting it out.
 */
const COMMIT_NOTICE_MS = 5_000;

/** A later outcome of the run, not known when the tool answers (`get_workflow` / `run://` give it). */
export const PENDING = 'pending';

export interface IngestEmailOutcome {
  workflowId: string;
  runId: string;
  /** The run's status: `running` while the archive, attachments and analysis go on after the commit. */
  status: Extract<WorkflowStatus, 'running' | 'completed'>;
  messageId: string | null;
  subject: string | null;
  /** Owners and admins only. */
  temporalUiUrl?: string;
  /** Set once the email is committed. */
  emailId?: string;
  created?: boolean;
  threadId?: string;
  attachments?: AttachmentOutcome[] | typeof PENDING;
  rawMessage?: RawMessageOutcome | { status: typeof PENDING };
  analysisWorkflowId?: string | null;
}

/**
 * Validate, stage and start (or join) the run, then answer as soon as the email row is committed
 * (ingestStoredUpdate, issue 15): the caller needs the row, not the whole run. The archive, the
 * attachments and the analysis go on in the same durable run; the fields they decide read `pending`.
 * A run that already completed answers with its result; a failed store reaches the caller as the run's
 * failure.
 */
export async function ingestEmail(deps: AppDeps, request: IngestEmailRequest): Promise<IngestEmailOutcome> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'ingest_email');
  const raw = decodeRawEmail(request.raw, request.encoding ?? 'text');
  const parsed = await parseOrRecord(deps, [tenantId], raw, 'mcp');
  await stageContent(deps.sql, tenantId, parsed.rawSha256, raw);
  // With eager start the run's first task, and its store step, run in this process's worker: listen for
  // the step's notice before the run starts (core/commit-notices.ts).
  const notices = request.wait === false ? undefined : deps.temporal.commitNotices;
  const expected = notices?.expect(
    emailWorkflowId(tenantId, parsed.dedupKey),
    Math.min(COMMIT_NOTICE_MS, deps.waitMs),
  );
  request.signal?.addEventListener('abort', () => expected?.cancel(), { once: true });
  const { handle, runId, existing, eager, input } = await startIngestRun(deps, tenantId, parsed).catch(
    (err: unknown) => {
      expected?.cancel();
      throw err;
    },
  );
  const base = {
    workflowId: handle.workflowId,
    runId,
    messageId: parsed.messageId,
    subject: parsed.subject,
    ...uiLink(deps, tenantId, handle.workflowId, runId),
  };
  metrics.emailIngested('mcp', tenantId);
  deps.log.info('ingest_email started', { actor: deps.principal.actor, workflowId: handle.workflowId });
  if (request.wait === false) return { ...base, status: 'running' };

  const bound = { waitMs: deps.waitMs, signal: request.signal };
  const started = Date.now();
  await request.onProgress?.({ progress: 0, total: INGEST_LAST_STEP, message: 'storing' });
  if (expected && !eager) expected.cancel();
  const noticed = expected && eager ? await expected.notice : undefined;
  if (noticed) {
    await request.onProgress?.({ progress: INGEST_LAST_STEP, total: INGEST_LAST_STEP, message: 'stored' });
    return { ...base, ...storedOutcome(storedOf(input, noticed)), status: 'running' };
  }
  // A completed run (joined) has its whole result; a running one answers once its row is committed.
  const stored = existing ? undefined : await waitForUpdate(handle, ingestStoredUpdate, bound);
  if (stored?.status === 'running') return { ...base, status: 'running' };
  if (stored?.status === 'completed') {
    await request.onProgress?.({ progress: INGEST_LAST_STEP, total: INGEST_LAST_STEP, message: 'stored' });
    return { ...base, ...storedOutcome(stored.result), status: 'running' };
  }
  // Joined a completed run, or the update failed: the store step failed (the run fails with the same
  // cause), the run completed before the update reached it, or a worker from before this update ran
  // it. The run's own outcome answers, within what is left of the wait.
  const outcome = await waitForWorkflow<IngestEmailResult, never>(handle, {
    ...bound,
    waitMs: Math.max(0, deps.waitMs - (Date.now() - started)),
  });
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'running') return { ...base, status: 'running' };
  await request.onProgress?.({ progress: INGEST_LAST_STEP, total: INGEST_LAST_STEP, message: 'stored' });
  return {
    ...base,
    status: 'completed',
    emailId: outcome.result.emailId,
    created: outcome.result.created,
    threadId: outcome.result.threadId,
    attachments: outcome.result.attachments,
    rawMessage: outcome.result.rawMessage,
    analysisWorkflowId: outcome.result.analysisWorkflowId,
  };
}

/** The tool's fields once the row is committed; what the run decides later reads `pending`. */
function storedOutcome(stored: IngestStored): Partial<IngestEmailOutcome> {
  return {
    emailId: stored.emailId,
    created: stored.created,
    threadId: stored.threadId,
    attachments: stored.attachmentsToUpload > 0 ? PENDING : [],
    rawMessage: stored.archives ? { status: PENDING } : { status: 'skipped' },
    analysisWorkflowId: stored.analyses ? PENDING : null,
  };
}

/**
 * Parse a raw message; a message the parser refuses leaves an `ingest_failures` row saying why, in each
 * tenant it was meant for.
 */
export async function parseOrRecord(
  deps: Pick<AppDeps, 'sql' | 'limits'>,
  tenantIds: string[],
  raw: Uint8Array,
  source: EmailSource,
): Promise<ParsedEmail> {
  return parseEmail(raw, deps.limits).catch(async (err: unknown) => {
    // Nothing disappears silently: a rejected message leaves a row saying why.
    if (err instanceof UserFacingError) {
      for (const tenantId of tenantIds) {
        metrics.emailRefused(source, err.type, tenantId);
        await recordIngestFailure(deps.sql, tenantId, sha256Hex(raw), err.type, err.message);
      }
    }
    throw err;
  });
}

/**
 * Start (or join) the ingestion run of a parsed message whose bytes are staged: every way mail arrives
 * (the MCP tools, the SMTP listener, inbound webhooks) ends here.
 */
export async function startIngestRun(
  deps: Pick<AppDeps, 'sql' | 'log' | 'temporal' | 'files' | 'ai'>,
  tenantId: string,
  parsed: ParsedEmail,
): Promise<{
  handle: WorkflowHandle;
  runId: string;
  existing: boolean;
  eager: boolean;
  input: IngestEmailInput;
}> {
  const workflowId = emailWorkflowId(tenantId, parsed.dedupKey);
  const input: IngestEmailInput = {
    tenantId,
    rawSha256: parsed.rawSha256,
    dedupKey: parsed.dedupKey,
    filesTaskQueue: deps.files.taskQueue,
    analyse: deps.ai.analyseOnIngest,
  };
  const from = parsed.from[0]?.address ?? '';
  const options = {
    workflowId,
    args: [input] as [IngestEmailInput],
    priority: await priorityFor(deps.sql, tenantId, 'interactive'),
    // The first workflow task straight to this process's worker, when it runs one on the main queue.
    ...(deps.temporal.eagerStart ? { requestEagerStart: true } : {}),
    // Bounded by construction: a hostile header can neither stop the start nor the run.
    typedSearchAttributes: [
      searchAttribute(TenantId, tenantId),
      // The run's first stage, from its start: the run upserts only the stages after it.
      searchAttribute(IngestStatus, 'storing'),
      searchAttribute(EmailFrom, mailSearchValue(deps.temporal.searchPrivacy, 'EmailFrom', from)),
      ...(parsed.messageId
        ? [
            searchAttribute(
              MessageId,
              mailSearchValue(deps.temporal.searchPrivacy, 'MessageId', parsed.messageId),
            ),
          ]
        : []),
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
  return recordStartFailure(deps, tenantId, parsed.rawSha256, async () => {
    const started = await startOrJoin(deps.temporal, ingestEmailContract, options);
    if (
      started.existing &&
      (await withinCallBound(deps.temporal, () => leftWorkUnfinished(started.handle)))
    ) {
      // The email is stored but an attachment or the raw message failed to reach storage: this
      // request is the retry that completes them.
      return { ...(await startOrJoin(deps.temporal, ingestEmailContract, options, 'replace')), input };
    }
    return { ...started, input };
  });
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

// ---- An mbox file ---------------------------------------------------------------------------------

export interface ImportMailboxRequest extends WaitRequest {
  /** mbox file, relative to the import directory; or */
  path?: string;
  /** the mbox file itself, base64. */
  content?: string;
  tenant?: string;
  concurrency?: number;
}

export interface ImportMailboxOutcome {
  workflowId: string;
  runId: string;
  status: Extract<WorkflowStatus, 'running' | 'completed'>;
  report?: MailboxReport;
  /** Owners and admins only. */
  temporalUiUrl?: string;
}

export async function importMailbox(
  deps: AppDeps,
  request: ImportMailboxRequest,
): Promise<ImportMailboxOutcome> {
  if (Boolean(request.path) === Boolean(request.content)) {
    throw new UserFacingError(ErrorType.InvalidPath, 'give exactly one of `path` or `content`');
  }
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'ingest_mailbox');
  const { source, sha256, label, bytes } = request.path
    ? await mailboxFromPath(deps, tenantId, request.path)
    : await mailboxFromUpload(deps, tenantId, request.content!);
  const workflowId = mailboxWorkflowId(tenantId, sha256);
  const input: IngestMailboxInput = {
    tenantId,
    mailboxSha256: sha256,
    source,
    concurrency: request.concurrency ?? deps.mailbox.concurrency,
    chunkMessages: deps.mailbox.chunkMessages,
    sliceMessages: deps.mailbox.sliceMessages,
    filesTaskQueue: deps.files.taskQueue,
  };
  const priority = await priorityFor(deps.sql, tenantId, 'bulk');
  const options = (run: IngestMailboxInput, summary: string) => ({
    workflowId,
    args: [run] as [IngestMailboxInput],
    priority,
    typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
    staticSummary: summaryText(`${summary} ${label} (${bytes} bytes)`),
  });
  // An uploaded mailbox is staged: if no run can start, that is recorded against its SHA-256.
  const { handle, runId } = await recordStartFailure(deps, tenantId, sha256, async () => {
    const started = await startOrJoin(deps.temporal, ingestMailboxContract, options(input, 'Import mailbox'));
    if (started.existing && (await mailboxLeftWorkUnfinished(deps, started.handle, tenantId, sha256))) {
      // The import completed, but raw messages or attachments failed to reach storage: this request is
      // the retry, a run that does only that work (the messages themselves are all settled).
      return startOrJoin(
        deps.temporal,
        ingestMailboxContract,
        options({ ...input, leftoversOnly: true }, 'Finish the files of mailbox'),
        'replace',
      );
    }
    return started;
  });
  const base = { workflowId, runId, ...uiLink(deps, tenantId, workflowId, runId) };
  if (request.wait === false) return { ...base, status: 'running' };

  const outcome = await waitForWorkflow<MailboxReport, MailboxProgress>(handle, {
    waitMs: deps.waitMs,
    signal: request.signal,
    progress: progressOf(
      request.onProgress,
      { query: mailboxProgressQuery },
      (p) => ({ progress: p.done, total: p.total, message: `${p.done}/${p.total} messages` }),
      1000,
    ),
  });
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'running') return { ...base, status: 'running' };
  return { ...base, status: 'completed', report: outcome.result };
}

/**
 * Did the latest run of the mailbox complete and leave raw messages or attachments of its emails out of
 * storage? Read from the database, not the run's result: an ingest_email since may have completed some.
 */
async function mailboxLeftWorkUnfinished(
  deps: AppDeps,
  handle: WorkflowHandle,
  tenantId: string,
  mailboxSha256: string,
): Promise<boolean> {
  const { status } = await withinCallBound(deps.temporal, () => handle.describe());
  if (status.name !== 'COMPLETED') return false;
  const left = await mailboxLeftovers(deps.sql, tenantId, mailboxSha256);
  return left.rawNotArchived + left.attachmentsFailed + left.attachmentsPending > 0;
}

/** A mailbox in the caller's import folder; the workflow carries the path relative to that folder. */
async function mailboxFromPath(deps: AppDeps, tenantId: string, requested: string) {
  const slug = await tenantSlug(deps.sql, tenantId);
  const file = await resolveImportPath(deps.mailbox.importDir, slug, requested);
  const info = await stat(file);
  if (!info.isFile()) throw new UserFacingError(ErrorType.InvalidPath, `"${requested}" is not a file`);
  // The mailbox's identity is its content; hashing streams, so the file can be larger than memory.
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const relative = await importRelative(deps.mailbox.importDir, slug, file);
  const source: MailboxSource = { kind: 'path', path: relative };
  return { source, sha256: hash.digest('hex'), label: relative, bytes: info.size };
}

async function mailboxFromUpload(deps: AppDeps, tenantId: string, content: string) {
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new UserFacingError(ErrorType.InvalidEmail, 'content is not valid base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > deps.mailbox.maxUploadBytes) {
    throw new UserFacingError(
      ErrorType.MailboxTooLarge,
      `the mailbox is ${bytes.length} bytes, over the ${deps.mailbox.maxUploadBytes}-byte upload limit (MAX_MAILBOX_UPLOAD_BYTES); put it in the import directory and pass path instead`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await stageContent(deps.sql, tenantId, sha256, bytes);
  const source: MailboxSource = { kind: 'upload', sha256 };
  return { source, sha256, label: `upload ${sha256.slice(0, 12)}`, bytes: bytes.length };
}
