/**
 * Raw-message archive (task queue `files`): put the staged raw message of stored emails into the
 * `raw-messages` bucket and link it from `emails.raw_file_id`.
 *
 * One activity covers one email (ingestion) or one slice of an mbox import, so a 10,000-message import
 * is 200 activities, not 10,000 upload workflows. Each file goes through the same steps as any upload
 * (file-uploader.ts): content-addressed, deduplicated, checked against the bucket's rules.
 *
 * It runs at least once: emails already linked are skipped, and a re-sent object is "already there".
 * A message that can never be archived (over the bucket's limit, say) is reported and left unlinked;
 * the email itself is stored either way. Retryable trouble (storage down) fails the activity, and its
 * retry starts over from the emails still unlinked.
 */
import { Context } from '@temporalio/activity';
import { failureText, givesUp } from '../core/failure.js';
import { inParallel } from '../core/in-parallel.js';
import {
  failPendingRawFiles,
  linkRawFile,
  type RawPending,
  rawPendingForEmail,
  rawPendingForEmails,
  rawPendingInMailbox,
} from '../supabase/raw-messages.js';
import { createUploader, type FileActivityDeps, isFinal, KEEPALIVE_MS } from './file-uploader.js';

export const RAW_MESSAGES_BUCKET = 'raw-messages';
const RAW_FILENAME = 'message.eml';
const FILES_AT_ONCE = 4;

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

/**
 * Archive one email's raw message: the steps of any upload, then the link. Plain code, so the ingest
 * benchmark's no-Temporal baseline does exactly the same work.
 */
export function createRawArchiver(deps: FileActivityDeps) {
  const uploader = createUploader(deps);
  /** `attempt`: the activity's; on its last one for this failure, the file row is marked failed. */
  return async function archiveOne(
    tenantId: string,
    email: RawPending,
    signal: AbortSignal,
    attempt = 1,
  ): Promise<void> {
    const file = {
      tenantId,
      bucket: RAW_MESSAGES_BUCKET,
      source: { kind: 'staged' as const, sha256: email.rawSha256 },
      sha256: email.rawSha256,
    };
    const prepared = await uploader.prepare(
      { ...file, filename: RAW_FILENAME, declaredMime: 'message/rfc822' },
      signal,
    );
    if (!prepared.deduplicated) {
      try {
        await uploader.send({ ...prepared, ...file }, { signal });
      } catch (err) {
        // Given up (refused, or a local disk fault on its last attempt): the row says why, not 'pending'.
        if (isFinal(err) || givesUp(err, attempt)) {
          await uploader.fail(tenantId, prepared.fileId, failureText(err));
        }
        throw err;
      }
      await uploader.complete(tenantId, prepared.fileId);
    }
    await linkRawFile(deps.sql, tenantId, email.emailId, prepared.fileId);
  };
}

export function createRawArchiveActivities(deps: FileActivityDeps) {
  const archiveOne = createRawArchiver(deps);
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
      const report: RawArchiveReport = { archived: 0, failed: [] };
      // A heartbeat every few seconds whatever one upload is doing: a large message on a slow link is
      // not a dead worker, and a dead worker is noticed within the heartbeat timeout.
      const keepalive = setInterval(() => ctx.heartbeat(report.archived), KEEPALIVE_MS);
      try {
        // A few at a time: each file is a handful of small queries and one write (an fsync on the
        // filesystem backend, a round trip to Storage), so overlapping them is most of the speed.
        await inParallel(pending, FILES_AT_ONCE, async (email) => {
          try {
            await archiveOne(tenantId, email, ctx.cancellationSignal, ctx.info.attempt);
            report.archived++;
          } catch (err) {
            if (!isFinal(err) && !givesUp(err, ctx.info.attempt)) throw err;
            const error = isFinal(err) ? `${err.type}: ${err.message}` : failureText(err);
            report.failed.push({ emailId: email.emailId, error });
          }
        });
        return report;
      } finally {
        clearInterval(keepalive);
      }
    },
  };
}

export type RawArchiveActivities = ReturnType<typeof createRawArchiveActivities>;
