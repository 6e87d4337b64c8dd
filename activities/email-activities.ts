/**
 * Email activities. They read the staged raw message by its SHA-256, so retries are cheap and safe: they
 * run at least once, and every write they make is keyed and idempotent.
 *
 * Ingesting one email is ONE activity (ingestStagedEmail): it reads the staged bytes once, runs the MIME
 * parser once, and takes the attachments from that same parse.
 */
import { Context } from '@temporalio/activity';
import { type EmailAttachment, parseEmailWithAttachments } from '../core/attachments.js';
import type { CommitNotices } from '../core/commit-notices.js';
import type { PrivacyConfig } from '../core/config.js';
import type { ParsedEmail, ParseLimits } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { mailSearchValue } from '../core/search-privacy.js';
import { claimAttachments, listAttachments, settleAttachment } from '../supabase/attachments.js';
import type { Queryable, Sql } from '../supabase/db.js';
import { recordIngestFailure, upsertEmail } from '../supabase/emails.js';
import { loadContent, renewContents, stageContents } from '../supabase/staged-content.js';

export interface EmailActivityDeps {
  sql: Sql;
  /** Set where this process also answers tool calls with eager start: the store step tells the waiting
   * call, by workflow id, once the row is committed (core/commit-notices.ts). */
  commitNotices?: CommitNotices<IngestedEmail>;
  limits: ParseLimits;
  /** Whether mail values in search attributes are clear or keyed hashes (core/search-privacy.ts). */
  searchPrivacy: PrivacyConfig['searchAttributes'];
}

export interface StagedEmailRef {
  tenantId: string;
  rawSha256: string;
}

/** The small part of a parse that crosses the workflow history. */
export interface EmailSummary {
  dedupKey: string;
  messageId: string | null;
  subject: string | null;
  from: string | null;
  sentAt: string | null;
  attachmentCount: number;
  sizeBytes: number;
}

/** An attachment waiting for its upload: enough to start one, never its bytes. */
export interface PendingAttachment {
  partIndex: number;
  filename: string;
  declaredMime: string;
  sha256: string;
}

export interface IngestStagedEmailInput extends StagedEmailRef {
  /** The key the run was started under (its workflow id): the worker's parse must derive the same. */
  dedupKey: string;
  /** Record the attachments and stage their bytes for upload (only when a files queue uploads them). */
  stageAttachments: boolean;
}

/** What the ingestion run needs from its one parse-and-store step: ids and a summary, no mail bodies. */
export interface IngestedEmail extends EmailSummary {
  emailId: string;
  /** false when the email already existed (a re-delivery or a retried request). */
  created: boolean;
  threadId: string;
  /** What the ThreadId search attribute holds: the thread id, or its keyed hash on a shared Temporal. */
  threadSearchValue?: string;
  /** Attachments not stored yet, their bytes staged (all of them the first time; the failed ones when
   * a later ingestion retries; none when stageAttachments is false). */
  pendingAttachments: PendingAttachment[];
}

export function createEmailActivities(deps: EmailActivityDeps) {
  const { sql, limits } = deps;

  async function loadStaged(ref: StagedEmailRef): Promise<Buffer> {
    const raw = await loadContent(sql, ref.tenantId, ref.rawSha256);
    if (!raw) {
      throw new UserFacingError(
        ErrorType.RawMessageMissing,
        `no staged raw message ${ref.rawSha256} for tenant ${ref.tenantId}`,
      );
    }
    return raw;
  }

  /** Nothing disappears silently: a refused message leaves a row saying why. */
  async function refuse(ref: StagedEmailRef, err: UserFacingError): Promise<never> {
    await recordIngestFailure(sql, ref.tenantId, ref.rawSha256, err.type, err.message);
    throw err;
  }

  async function parseStaged(
    ref: StagedEmailRef,
    raw: Uint8Array,
  ): Promise<{ email: ParsedEmail; attachments: EmailAttachment[] }> {
    try {
      return await parseEmailWithAttachments(raw, limits);
    } catch (err) {
      if (!(err instanceof UserFacingError)) throw err;
      return refuse(ref, err);
    }
  }

  async function storeStaged(input: IngestStagedEmailInput): Promise<IngestedEmail> {
    const raw = await loadStaged(input);
    const { email, attachments } = await parseStaged(input, raw);
    if (email.dedupKey !== input.dedupKey) {
      // Only possible if the caller and the worker run different parser versions: refuse rather than
      // store the message under a key that no longer matches the run's id.
      await refuse(
        input,
        new UserFacingError(
          ErrorType.KeyMismatch,
          `the worker derived key ${email.dedupKey}, the caller ${input.dedupKey}`,
        ),
      );
    }
    const parts = input.stageAttachments ? attachments : [];
    await stageContents(sql, input.tenantId, parts);
    const stored = await sql.begin(async (tx) => {
      const row = await upsertEmail(tx, input.tenantId, email);
      return { ...row, pendingAttachments: await claimPending(tx, input.tenantId, row.emailId, parts) };
    });
    const threadSearchValue = mailSearchValue(deps.searchPrivacy, 'ThreadId', stored.threadId);
    return { ...summaryOf(email), ...stored, threadSearchValue };
  }

  return {
    /**
     * Parse the staged message once, check its key, store it and stage its attachments for upload.
     *
     * Attachment bytes are staged before the transaction, so the per-tenant lock upsert_email takes is
     * never held while they are written. The email row and the attachment claims commit together: a
     * retry after a failure finds either both or neither, so `created` stays true for the attempt that
     * stored the email as long as nothing after it failed.
     */
    async ingestStagedEmail(input: IngestStagedEmailInput): Promise<IngestedEmail> {
      const notices = deps.commitNotices;
      const workflowId = notices && Context.current().info.workflowExecution?.workflowId;
      if (!notices || !workflowId) return storeStaged(input);
      return storeStaged(input).then(
        (stored) => {
          notices.notify(workflowId, stored);
          return stored;
        },
        (err: unknown) => {
          notices.notify(workflowId, undefined);
          throw err;
        },
      );
    },

    /**
     * The attachments of a stored email that still need uploading, their bytes staged. mbox imports
     * claim and stage attachments in the slice that stores the email (from that slice's one parse), so
     * this usually reads only the claims; it reads and parses the raw message only when the claims are
     * missing or their staged bytes were dropped since (an import resumed long after).
     */
    async stageEmailAttachments(ref: StagedEmailRef & { emailId: string }): Promise<PendingAttachment[]> {
      const claims = await listAttachments(sql, ref.tenantId, ref.emailId);
      if (claims.length > 0) {
        const open = claims.filter((a) => a.status !== 'stored');
        const staged = await renewContents(
          sql,
          ref.tenantId,
          open.map((a) => a.sha256),
        );
        if (open.every((a) => staged.has(a.sha256))) return open.map(pendingOf);
      }
      const { attachments } = await parseStaged(ref, await loadStaged(ref));
      const pending = await claimPending(sql, ref.tenantId, ref.emailId, attachments);
      const byIndex = new Set(pending.map((p) => p.partIndex));
      await stageContents(
        sql,
        ref.tenantId,
        attachments.filter((a) => byIndex.has(a.partIndex)),
      );
      return pending;
    },

    async settleEmailAttachment(
      input: { tenantId: string; emailId: string; partIndex: number } & (
        | { status: 'stored'; fileId: string; detectedMime: string | null }
        | { status: 'failed'; error: string }
      ),
    ): Promise<void> {
      const { tenantId, emailId, partIndex, ...outcome } = input;
      await settleAttachment(sql, tenantId, emailId, partIndex, outcome);
    },
  };
}

/**
 * Record an email's attachments (idempotent: the first claim of a part wins) and return the ones not
 * stored yet. Their bytes are staged by the caller (a claim whose bytes are missing is repaired by
 * stageEmailAttachments).
 */
export async function claimPending(
  sql: Queryable,
  tenantId: string,
  emailId: string,
  parts: EmailAttachment[],
): Promise<PendingAttachment[]> {
  if (parts.length === 0) return [];
  await claimAttachments(sql, tenantId, emailId, parts.map(claimOf));
  const open = new Set(
    (await listAttachments(sql, tenantId, emailId))
      .filter((a) => a.status !== 'stored')
      .map((a) => a.partIndex),
  );
  return parts.filter((p) => open.has(p.partIndex)).map(pendingOf);
}

/** An attachment's claim row: everything but its bytes. */
export function claimOf({ content, ...part }: EmailAttachment) {
  return { ...part, sizeBytes: content.byteLength };
}

function pendingOf(a: PendingAttachment): PendingAttachment {
  return { partIndex: a.partIndex, filename: a.filename, declaredMime: a.declaredMime, sha256: a.sha256 };
}

function summaryOf(email: ParsedEmail): EmailSummary {
  return {
    dedupKey: email.dedupKey,
    messageId: email.messageId,
    subject: email.subject,
    from: email.from[0]?.address ?? null,
    sentAt: email.sentAt,
    attachmentCount: email.attachmentCount,
    sizeBytes: email.sizeBytes,
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>;
