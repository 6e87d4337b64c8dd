/**
 * Email activities. Each reads the staged raw message by its SHA-256, so retries are cheap and safe:
 * they run at least once, and every write they make is keyed and idempotent.
 */
import { extractAttachments } from '../core/attachments.js';
import { type ParsedEmail, type ParseLimits, parseEmail } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { claimAttachments, listAttachments, settleAttachment } from '../supabase/attachments.js';
import type { Sql } from '../supabase/db.js';
import { recordIngestFailure, upsertEmail } from '../supabase/emails.js';
import { loadContent, stageContent } from '../supabase/staged-content.js';

export interface EmailActivityDeps {
  sql: Sql;
  limits: ParseLimits;
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

export function createEmailActivities(deps: EmailActivityDeps) {
  const { sql, limits } = deps;

  async function parseStaged(ref: StagedEmailRef): Promise<ParsedEmail> {
    const raw = await loadContent(sql, ref.tenantId, ref.rawSha256);
    if (!raw) {
      throw new UserFacingError(
        ErrorType.RawMessageMissing,
        `no staged raw message ${ref.rawSha256} for tenant ${ref.tenantId}`,
      );
    }
    try {
      return await parseEmail(raw, limits);
    } catch (err) {
      if (!(err instanceof UserFacingError)) throw err;
      // Nothing disappears silently: a rejected message leaves a row saying why.
      await recordIngestFailure(sql, ref.tenantId, ref.rawSha256, err.type, err.message);
      throw err;
    }
  }

  return {
    async parseStagedEmail(ref: StagedEmailRef): Promise<EmailSummary> {
      const email = await parseStaged(ref);
      return {
        dedupKey: email.dedupKey,
        messageId: email.messageId,
        subject: email.subject,
        from: email.from[0]?.address ?? null,
        sentAt: email.sentAt,
        attachmentCount: email.attachmentCount,
        sizeBytes: email.sizeBytes,
      };
    },

    /**
     * Record the message's attachments and stage their bytes for upload; returns the ones not stored
     * yet (all of them the first time; the failed ones when a later ingestion retries).
     */
    async stageEmailAttachments(ref: StagedEmailRef & { emailId: string }): Promise<PendingAttachment[]> {
      const raw = await loadContent(sql, ref.tenantId, ref.rawSha256);
      if (!raw)
        throw new UserFacingError(ErrorType.RawMessageMissing, `no staged raw message ${ref.rawSha256}`);
      const parts = await extractAttachments(raw, limits);
      await claimAttachments(
        sql,
        ref.tenantId,
        ref.emailId,
        parts.map(({ content, ...part }) => ({ ...part, sizeBytes: content.byteLength })),
      );
      const open = new Set(
        (await listAttachments(sql, ref.tenantId, ref.emailId))
          .filter((a) => a.status !== 'stored')
          .map((a) => a.partIndex),
      );
      const pending = parts.filter((p) => open.has(p.partIndex));
      for (const part of pending) await stageContent(sql, ref.tenantId, part.sha256, part.content);
      return pending.map(({ partIndex, filename, declaredMime, sha256 }) => ({
        partIndex,
        filename,
        declaredMime,
        sha256,
      }));
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

    async storeStagedEmail(
      ref: StagedEmailRef,
    ): Promise<{ emailId: string; created: boolean; threadId: string }> {
      const email = await parseStaged(ref);
      return upsertEmail(sql, ref.tenantId, email);
    },
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>;
