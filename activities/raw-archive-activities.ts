/**
 * Raw-message archive (task queue `files`): put the staged raw message of stored emails into the
 * `raw-messages` bucket and link it from `emails.raw_file_id`.
 *
 * One activity covers one email (ingestion) or one slice of an mbox import, so a 10,000-message import
 * is 200 activities, not 10,000 upload workflows. Each file gets what any upload gets (file-uploader.ts):
 * content-addressed, deduplicated, checked against the bucket's rules; but a slice is done as a batch,
 * in a handful of statements whatever its size: one read of the staged bytes, one multi-row claim of the
 * `files` rows, one read of the bucket's rules, one count of the attempts, the storage writes a few at a
 * time, and one statement that marks the written files uploaded and links the emails to them.
 *
 * It runs at least once: emails already linked are skipped, a file already uploaded is linked without a
 * write, and a re-sent object is "already there". A worker killed mid-archive leaves objects written
 * and rows `pending`, never an email linked to a file that is not uploaded; the retry starts over from
 * the emails still unlinked. A message that can never be archived (over the bucket's limit, say) is
 * reported and left unlinked; the email itself is stored either way. Retryable trouble (storage down)
 * fails the activity, after the files written so far are linked.
 */
import { Context } from '@temporalio/activity';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { failureText, givesUp } from '../core/failure.js';
import { inParallel } from '../core/in-parallel.js';
import { bucketRules, claimFiles, type FileRow, recordUploadAttempts } from '../supabase/files.js';
import {
  completeRawFiles,
  failPendingRawFiles,
  type RawPending,
  rawPendingForEmail,
  rawPendingForEmails,
  rawPendingInMailbox,
} from '../supabase/raw-messages.js';
import { loadContents } from '../supabase/staged-content.js';
import type { UploadSource } from '../supabase/storage/backend.js';
import { storageKeyFor } from '../supabase/storage/secure-path.js';
import { inspectSource, type SourceFacts } from './file-inspect.js';
import { stagedSource } from './file-sources.js';
import {
  createUploader,
  type FileActivityDeps,
  isFinal,
  KEEPALIVE_MS,
  servedAs,
  violationOf,
} from './file-uploader.js';

export const RAW_MESSAGES_BUCKET = 'raw-messages';
const RAW_FILENAME = 'message.eml';
const RAW_MIME = 'message/rfc822';
/** Storage writes in flight within one batch: each is an fsync (filesystem) or a round trip (Storage). */
const WRITES_AT_ONCE = 8;

export type RawArchiveScope =
  | { emailId: string }
  /** A batch of emails (an IMAP sync pass's new ones). */
  | { emailIds: string[] }
  | { mailboxSha256: string; fromSeq: number; toSeq: number };

export interface RawArchiveReport {
  archived: number;
  /** Emails whose raw message can never be archived as things stand, with the reason. */
  failed: { emailId: string; error: string }[];
}

/** The emails of one raw message (normally one), its staged bytes, what they are, and its row. */
interface RawFile {
  sha256: string;
  emails: RawPending[];
  source: UploadSource;
  facts: SourceFacts;
  row?: FileRow;
}

const reason = (err: unknown) => (isFinal(err) ? `${err.type}: ${err.message}` : failureText(err));

/**
 * Archive the raw messages of these emails as one batch. Plain code, so the ingest benchmark's
 * no-Temporal baseline does exactly the same work. `attempt`: the activity's; on its last one for a
 * failure, the file's row is marked failed and the email reported. Throws the first retryable failure,
 * once what could be archived is linked.
 */
export function createRawArchiver(deps: FileActivityDeps) {
  const { sql } = deps;
  const uploader = createUploader(deps);

  async function inspect(
    tenantId: string,
    emails: RawPending[],
    signal: AbortSignal,
    report: RawArchiveReport,
  ) {
    const bySha = new Map<string, RawPending[]>();
    for (const e of emails) bySha.set(e.rawSha256, [...(bySha.get(e.rawSha256) ?? []), e]);
    const staged = await loadContents(sql, tenantId, [...bySha.keys()]);
    const files: RawFile[] = [];
    for (const [sha256, group] of bySha) {
      const content = staged.get(sha256);
      const facts = content && (await inspectSource(stagedSource(content), RAW_MIME, signal));
      const problem = !facts
        ? new UserFacingError(ErrorType.SourceMissing, `no staged content ${sha256} for this tenant`)
        : facts.sha256 !== sha256
          ? new UserFacingError(
              ErrorType.SourceChanged,
              `the staged bytes of ${sha256} hash to ${facts.sha256}`,
            )
          : null;
      if (problem || !content || !facts) {
        for (const e of group) report.failed.push({ emailId: e.emailId, error: reason(problem) });
        continue;
      }
      files.push({ sha256, emails: group, source: stagedSource(content), facts });
    }
    return files;
  }

  /** Claim the rows; those already uploaded need no write, those the bucket's rules refuse never will. */
  async function claim(tenantId: string, files: RawFile[], report: RawArchiveReport) {
    const claimed = await claimFiles(
      sql,
      tenantId,
      files.map((f) => ({
        bucket: RAW_MESSAGES_BUCKET,
        storagePath: storageKeyFor(tenantId, f.sha256, RAW_FILENAME),
        filename: RAW_FILENAME,
        sizeBytes: f.facts.size,
        declaredMime: RAW_MIME,
        detectedMime: f.facts.content.mime,
        mimeMismatch: RAW_MIME !== f.facts.content.mime,
        sha256: f.sha256,
      })),
    );
    const rowOf = new Map(claimed.map(({ row }) => [row.sha256, row]));
    for (const f of files) f.row = rowOf.get(f.sha256);
    const stored = files.filter((f) => f.row?.status === 'uploaded');
    const toWrite = files.filter((f) => f.row && f.row.status !== 'uploaded');
    if (toWrite.length === 0) return { stored, toWrite };
    const rules = await bucketRules(sql, tenantId, RAW_MESSAGES_BUCKET);
    const allowed: RawFile[] = [];
    for (const f of toWrite) {
      const violation = violationOf(rules, deps.files.maxUploadBytes, RAW_MESSAGES_BUCKET, {
        size: f.facts.size,
        declared: RAW_MIME,
        content: f.facts.content,
      });
      if (!violation) {
        allowed.push(f);
        continue;
      }
      await uploader.fail(tenantId, f.row!.id, reason(violation));
      for (const e of f.emails) report.failed.push({ emailId: e.emailId, error: reason(violation) });
    }
    return { stored, toWrite: allowed };
  }

  return async function archiveRaw(
    tenantId: string,
    emails: RawPending[],
    signal: AbortSignal,
    attempt = 1,
  ): Promise<RawArchiveReport> {
    const report: RawArchiveReport = { archived: 0, failed: [] };
    if (emails.length === 0) return report;
    const files = await inspect(tenantId, emails, signal, report);
    const { stored, toWrite } = await claim(tenantId, files, report);
    await recordUploadAttempts(
      sql,
      tenantId,
      toWrite.map((f) => f.row!.id),
    );
    const written: RawFile[] = [];
    let retryable: unknown;
    await inParallel(toWrite, WRITES_AT_ONCE, async (f) => {
      const row = f.row!;
      try {
        await uploader.sendSource(
          {
            tenantId,
            fileId: row.id,
            bucket: RAW_MESSAGES_BUCKET,
            storagePath: row.storagePath,
            source: { kind: 'staged', sha256: f.sha256 },
            size: f.facts.size,
            sha256: f.sha256,
            ...servedAs(f.facts.content, row.storagePath),
          },
          f.source,
          row.uploadUrl ? { bytesSent: 0, uploadUrl: row.uploadUrl } : undefined,
          { signal },
        );
        written.push(f);
      } catch (err) {
        if (!isFinal(err) && !givesUp(err, attempt)) {
          retryable ??= err;
          return;
        }
        // Given up (refused, or a local disk fault on its last attempt): the row says why, not 'pending'.
        await uploader.fail(tenantId, row.id, failureText(err));
        for (const e of f.emails) report.failed.push({ emailId: e.emailId, error: reason(err) });
      }
    });
    const linked = [...stored, ...written];
    await completeRawFiles(
      sql,
      tenantId,
      written.map((f) => f.row!.id),
      linked.flatMap((f) => f.emails.map((e) => ({ emailId: e.emailId, fileId: f.row!.id }))),
    );
    if (retryable !== undefined) throw retryable;
    report.archived = linked.reduce((n, f) => n + f.emails.length, 0);
    return report;
  };
}

export function createRawArchiveActivities(deps: FileActivityDeps) {
  const archiveRaw = createRawArchiver(deps);
  const pendingOf = (tenantId: string, scope: RawArchiveScope) =>
    'emailId' in scope
      ? rawPendingForEmail(deps.sql, tenantId, scope.emailId)
      : 'emailIds' in scope
        ? rawPendingForEmails(deps.sql, tenantId, scope.emailIds)
        : rawPendingInMailbox(deps.sql, tenantId, scope.mailboxSha256, scope);

  return {
    /**
     * After the archive activity gave up for good (its attempts ran out on trouble that looked
     * passing, or its worker kept dying): the `files` rows it left `pending` say `failed`, and why.
     */
    async failRawArchive(input: {
      tenantId: string;
      scope: RawArchiveScope;
      reason: string;
    }): Promise<number> {
      const pending = await pendingOf(input.tenantId, input.scope);
      return failPendingRawFiles(
        deps.sql,
        input.tenantId,
        pending.map((p) => p.rawSha256),
        input.reason,
      );
    },

    async archiveRawMessages(input: { tenantId: string; scope: RawArchiveScope }): Promise<RawArchiveReport> {
      const ctx = Context.current();
      const { tenantId, scope } = input;
      const pending = await pendingOf(tenantId, scope);
      // A heartbeat every few seconds whatever the writes are doing: a large message on a slow link is
      // not a dead worker, and a dead worker is noticed within the heartbeat timeout.
      const keepalive = setInterval(() => ctx.heartbeat(), KEEPALIVE_MS);
      try {
        return await archiveRaw(tenantId, pending, ctx.cancellationSignal, ctx.info.attempt);
      } finally {
        clearInterval(keepalive);
      }
    },
  };
}

export type RawArchiveActivities = ReturnType<typeof createRawArchiveActivities>;
