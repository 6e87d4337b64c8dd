/**
 * IMAP mailbox sync activities (workflows/mailbox-sync.ts). Each opens its own connection with the
 * credentials it reads and decrypts itself: the secret never crosses a workflow payload.
 *
 * syncMailbox does one bounded pass over the mailbox's folders, per folder:
 *  1. UIDVALIDITY changed (or first sight, or resync): the folder is re-listed. Mail above UIDNEXT-1 is
 *     new mail; the window below it is the initial sync, newest first.
 *  2. new UIDs above the highest stored one, oldest first;
 *  3. the initial sync's next batch, newest first;
 *  4. flag changes since the stored HIGHESTMODSEQ (CONDSTORE) and expunges: with QRESYNC enabled, the
 *     UIDs the server reports VANISHED (EARLIER) since that MODSEQ; otherwise the UIDs no longer listed.
 * Each batch reads the messages' envelopes first: a message whose Message-ID is already stored in the
 * tenant (a re-listed folder after a UIDVALIDITY change, the same mail in two folders) is linked to its
 * UID without its body being downloaded; only the others are fetched whole.
 * Every batch goes through the ingestion's own steps (parse-batch.ts: parse with the limits, dedup by
 * Message-ID or content key, threads, attachment claims) and commits its emails, its ledger rows and the
 * folder's cursor in ONE transaction: a retried batch or a killed worker never stores twice, never skips.
 * A message already stored (same key) is linked to its UID, not stored again.
 */
import { Context, heartbeat } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ImapFlow } from 'imapflow';
import {
  type CredentialsKeySource,
  credentialsKey,
  decryptSecret,
  type MailboxSecret,
  mailboxCredentialsContext,
} from '../core/credentials-cipher.js';
import { messageIdKey, normaliseMessageId, type ParseLimits, sha256Hex } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { metrics } from '../core/metrics.js';
import { closeImap, imapFailure, MAX_IDLE_TIME_MS, openImap, resolveFolders } from '../imap/session.js';
import type { Sql } from '../supabase/db.js';
import { recordIngestFailure } from '../supabase/emails.js';
import {
  analysisPending,
  applyFlagChanges,
  type ChangeTracking,
  disconnectImapMailbox,
  type FolderState,
  findImapMailbox,
  folderState,
  followUpsPending,
  forgetFolders,
  type ImapMailboxRow,
  type LedgerRow,
  loadCredentials,
  type MailboxStatus,
  markAnalysisStarted,
  markExpunged,
  recordImapBatch,
  recordMailboxError,
  resetFolder,
  setMailboxStatus,
  storedByDedupKey,
  touchFolder,
} from '../supabase/imap-mailboxes.js';
import { stageContents } from '../supabase/staged-content.js';
import { parseBatch, storeParsed } from './parse-batch.js';

export interface MailboxSyncActivityDeps {
  sql: Sql;
  limits: ParseLimits;
  imap: CredentialsKeySource & { pollSeconds: number; batchSize: number };
}

export interface MailboxRef {
  tenantId: string;
  mailboxId: string;
}

/** A newly stored email whose attachments and raw message go to storage after the pass. */
export interface StoredFollowUp {
  emailId: string;
  rawSha256: string;
  attachmentCount: number;
}

export interface SyncPassResult {
  /** The budget ran out with work left: run another pass right away. */
  more: boolean;
  stored: number;
  linked: number;
  failed: number;
  flagsChanged: number;
  expunged: number;
  /** Messages whose body was downloaded (the others were linked by their envelope's Message-ID). */
  downloaded: number;
  created: StoredFollowUp[];
}

const KEPT_FLAGS = new Set(['\\Seen', '\\Flagged', '\\Answered', '\\Draft']);
/** How long a watch waits with IDLE before it returns (IDLE itself is re-issued every MAX_IDLE_TIME_MS). */
const WATCH_MAX_MS = 55 * 60_000;
const HEARTBEAT_MS = 5_000;

export function createMailboxSyncActivities(deps: MailboxSyncActivityDeps) {
  const { sql, limits } = deps;

  async function secretOf(ref: MailboxRef): Promise<MailboxSecret> {
    const stored = await loadCredentials(sql, ref.tenantId, ref.mailboxId);
    if (!stored) {
      throw new UserFacingError(ErrorType.MailboxAuthFailed, 'no credentials are stored for this mailbox');
    }
    try {
      return decryptSecret(
        credentialsKey(deps.imap),
        mailboxCredentialsContext(ref.tenantId, ref.mailboxId),
        stored,
      );
    } catch (err) {
      if (err instanceof UserFacingError) throw err;
      throw new UserFacingError(
        ErrorType.CredentialsKeyMissing,
        'the stored credentials do not decrypt with this MAILBOX_CREDENTIALS_KEY (was it changed?): connect the mailbox again',
      );
    }
  }

  /** Open a session, run `work`, close it; failures said in the mailbox row (see recordFailure). */
  async function withSession<T>(
    ref: MailboxRef,
    work: (client: ImapFlow, mailbox: ImapMailboxRow) => Promise<T>,
    options: { maxIdleTimeMs?: number } = {},
  ): Promise<T> {
    const mailbox = await findImapMailbox(sql, ref.tenantId, ref.mailboxId);
    if (!mailbox) throw new UserFacingError(ErrorType.NotFound, `no mailbox ${ref.mailboxId}`);
    let client: ImapFlow | undefined;
    try {
      client = await openImap(mailbox, await secretOf(ref), options);
      return await work(client, mailbox);
    } catch (err) {
      const failure = isImapError(err) ? imapFailure(err, mailbox) : err;
      await recordFailure(ref, failure);
      throw failure;
    } finally {
      if (client) await closeImap(client);
    }
  }

  /**
   * A refused login (or credentials that cannot be used) puts the mailbox in needs_attention with the
   * server's reason; a retryable failure is said as the last error while the sync retries.
   */
  async function recordFailure(ref: MailboxRef, err: unknown): Promise<void> {
    if (!(err instanceof UserFacingError)) return;
    const text = `${err.type}: ${err.message}`;
    if (err.type === ErrorType.MailboxAuthFailed || err.type === ErrorType.CredentialsKeyMissing) {
      await setMailboxStatus(sql, ref.tenantId, ref.mailboxId, 'needs_attention', {
        force: true,
        error: text,
      });
    } else {
      await recordMailboxError(sql, ref.tenantId, ref.mailboxId, text);
    }
  }

  async function syncFolder(
    client: ImapFlow,
    mailbox: ImapMailboxRow,
    name: string,
    budget: { left: number },
    result: SyncPassResult,
    stageAttachments: boolean,
  ): Promise<void> {
    const box = await client.mailboxOpen(name, { readOnly: true });
    let folder = await folderState(sql, mailbox.tenantId, mailbox.id, name);
    const uidvalidity = String(box.uidValidity);
    const serverModseq = box.highestModseq ? String(box.highestModseq) : null;
    if (folder.uidvalidity !== uidvalidity) {
      // Re-listed: what is already stored (same Message-ID or content key) is linked, not stored again.
      const highestUid = Number(box.uidNext) - 1;
      const window = highestUid > 0 ? await windowUids(client, mailbox, `1:${highestUid}`) : [];
      await resetFolder(sql, folder.id, {
        uidvalidity,
        highestUid,
        backfillTotal: window.length,
        highestModseq: serverModseq,
      });
      folder = await folderState(sql, mailbox.tenantId, mailbox.id, name);
    }
    const ctx = {
      client,
      mailbox,
      folder: folder as FolderState & { uidvalidity: string },
      stageAttachments,
    };

    // New mail, oldest first.
    if (Number(box.uidNext) - 1 > folder.highestUid && budget.left > 0) {
      const fresh = ((await client.search({ uid: `${folder.highestUid + 1}:*` }, { uid: true })) || [])
        .filter((uid) => uid > folder.highestUid)
        .sort((a, b) => a - b);
      while (fresh.length > 0 && budget.left > 0) {
        const batch = fresh.splice(0, Math.min(deps.imap.batchSize, budget.left));
        await storeBatch(ctx, batch, { highestUid: batch.at(-1)!, backfillDone: 0 }, result);
        budget.left -= batch.length;
      }
      // UIDs up to UIDNEXT-1 that are gone already (expunged before we saw them): past them too, so the
      // watch does not take them for new mail.
      if (fresh.length === 0) {
        await recordImapBatch(sql, mailbox.tenantId, ctx.folder, [], {
          highestUid: Number(box.uidNext) - 1,
          backfillDone: 0,
        });
      }
    }
    // The initial sync, newest first.
    if (folder.backfillCursor > 1 && budget.left > 0) {
      const older = (await windowUids(client, mailbox, `1:${folder.backfillCursor - 1}`)).sort(
        (a, b) => b - a,
      );
      while (older.length > 0 && budget.left > 0) {
        const batch = older.splice(0, Math.min(deps.imap.batchSize, budget.left));
        await storeBatch(ctx, batch, { backfillCursor: batch.at(-1)!, backfillDone: batch.length }, result);
        budget.left -= batch.length;
      }
      if (older.length === 0) {
        await recordImapBatch(sql, mailbox.tenantId, ctx.folder, [], { backfillCursor: 1, backfillDone: 0 });
      }
    }
    if (budget.left <= 0) return;
    // Flags and expunges, once the folder is caught up.
    const current = await folderState(sql, mailbox.tenantId, mailbox.id, name);
    const changedSince =
      serverModseq && current.highestModseq && BigInt(current.highestModseq) < BigInt(serverModseq)
        ? BigInt(current.highestModseq)
        : undefined;
    const tracking: ChangeTracking = !serverModseq
      ? 'full'
      : client.enabled.has('QRESYNC')
        ? 'qresync'
        : 'condstore';
    if ((changedSince !== undefined || tracking === 'full') && current.highestUid > 0) {
      const folderAt = { ...ctx.folder, highestUid: current.highestUid };
      // With QRESYNC, UID FETCH … (CHANGEDSINCE m VANISHED) also answers VANISHED (EARLIER) with the
      // UIDs expunged since m: imapflow reports each as an 'expunge' event.
      const vanished: number[] = [];
      const onExpunge = (e: { uid?: number; vanished?: boolean }) => {
        if (e.vanished && e.uid) vanished.push(e.uid);
      };
      if (tracking === 'qresync') client.on('expunge', onExpunge);
      let changes: { uid: number; flags?: Set<string> }[];
      try {
        changes = await client.fetchAll(
          `1:${current.highestUid}`,
          { uid: true, flags: true },
          { uid: true, ...(changedSince !== undefined ? { changedSince } : {}) },
        );
      } finally {
        client.off('expunge', onExpunge);
      }
      result.flagsChanged += await applyFlagChanges(
        sql,
        mailbox.tenantId,
        ctx.folder,
        changes.map((m) => ({ uid: m.uid, flags: keptFlags(m.flags) })),
      );
      result.expunged +=
        tracking === 'qresync'
          ? await markExpunged(sql, mailbox.tenantId, folderAt, { vanished })
          : await markExpunged(sql, mailbox.tenantId, folderAt, {
              live: ((await client.search({ all: true }, { uid: true })) || []) as number[],
            });
    }
    await touchFolder(sql, folder.id, { highestModseq: serverModseq, changeTracking: tracking });
  }

  /** The UIDs of `range` inside the mailbox's window (since_days; all mail when null). */
  async function windowUids(client: ImapFlow, mailbox: ImapMailboxRow, range: string): Promise<number[]> {
    const since = mailbox.sinceDays ? new Date(Date.now() - mailbox.sinceDays * 86_400_000) : undefined;
    const found = await client.search({ uid: range, ...(since ? { since } : {}) }, { uid: true });
    return found || [];
  }

  async function storeBatch(
    ctx: {
      client: ImapFlow;
      mailbox: ImapMailboxRow;
      folder: FolderState & { uidvalidity: string };
      stageAttachments: boolean;
    },
    uids: number[],
    cursor: { highestUid?: number; backfillCursor?: number; backfillDone: number },
    result: SyncPassResult,
  ): Promise<void> {
    // Between batches a cancelled pass (the worker shutting down, the run cancelled) stops: every batch
    // is committed whole, so the next pass resumes from the cursor.
    if (Context.current().cancellationSignal.aborted) {
      throw new CancelledFailure('the sync pass was cancelled between two batches');
    }
    const { client, mailbox, folder } = ctx;
    const tenantId = mailbox.tenantId;
    const where = (uid: number) => `folder ${folder.name} UID ${uid}`;
    const meta = await client.fetchAll(
      uids.join(','),
      { uid: true, size: true, flags: true, internalDate: true, envelope: true },
      { uid: true },
    );
    const flagsOf = new Map(meta.map((m) => [m.uid, keptFlags(m.flags)]));
    // Already stored (same Message-ID in this tenant): linked by its envelope, its body not downloaded.
    const keyOf = new Map(
      meta.map((m) => {
        const id = normaliseMessageId(m.envelope?.messageId);
        return [m.uid, id ? messageIdKey(id) : null];
      }),
    );
    const stored = await storedByDedupKey(
      sql,
      tenantId,
      [...keyOf.values()].filter((k): k is string => k !== null),
    );
    const known = meta.flatMap((m) => {
      const found = stored.get(keyOf.get(m.uid) ?? '');
      return found ? [{ uid: m.uid, ...found }] : [];
    });
    const knownUids = new Set(known.map((k) => k.uid));
    const unknown = meta.filter((m) => !knownUids.has(m.uid));
    const fits = unknown.filter((m) => (m.size ?? 0) <= limits.maxEmailBytes).map((m) => m.uid);
    const tooLarge = unknown.filter((m) => (m.size ?? 0) > limits.maxEmailBytes);
    const sources = fits.length
      ? await client.fetchAll(fits.join(','), { uid: true, source: true }, { uid: true })
      : [];
    result.downloaded += sources.length;
    heartbeat({ folder: folder.name, fetched: sources.length });
    const raws = sources
      .filter((m) => m.source)
      .map((m) => ({ uid: m.uid, content: new Uint8Array(m.source!), sha256: sha256Hex(m.source!) }));
    await stageContents(sql, tenantId, raws);
    const { parsed, rejected } = await parseBatch(
      sql,
      limits,
      tenantId,
      raws.map((r) => ({ key: r.uid, sha256: r.sha256, raw: r.content })),
      ctx.stageAttachments,
    );
    const shaOf = new Map(raws.map((r) => [r.uid, r.sha256]));
    const created: StoredFollowUp[] = [];
    const counts = { stored: 0, linked: 0, failed: 0 };
    const newUids: number[] = [];
    const refusedTypes: string[] = [];
    await sql.begin(async (tx) => {
      const rows: LedgerRow[] = known.map((k) => ({
        uid: k.uid,
        status: 'linked',
        emailId: k.emailId,
        rawSha256: k.rawSha256,
        attachmentCount: 0,
        flags: flagsOf.get(k.uid) ?? [],
        reason: null,
      }));
      counts.linked += known.length;
      for (const item of parsed) {
        const { emailId, created: isNew } = await storeParsed(tx, tenantId, item);
        const rawSha256 = shaOf.get(item.key)!;
        const attachmentCount = isNew ? item.email.attachmentCount : 0;
        rows.push({
          uid: item.key,
          status: isNew ? 'stored' : 'linked',
          emailId,
          rawSha256,
          attachmentCount,
          flags: flagsOf.get(item.key) ?? [],
          reason: null,
        });
        if (isNew) {
          created.push({ emailId, rawSha256, attachmentCount });
          newUids.push(item.key);
        }
        counts[isNew ? 'stored' : 'linked']++;
      }
      const failures = [
        ...rejected.map((r) => ({ uid: r.key, sha256: r.sha256, type: r.type, message: r.message })),
        ...tooLarge.map((m) => ({
          uid: m.uid,
          // Never downloaded: identified by where it is.
          sha256: sha256Hex(Buffer.from(`imap/${mailbox.id}/${folder.name}/${folder.uidvalidity}/${m.uid}`)),
          type: ErrorType.EmailTooLarge,
          message: `the message is ${m.size} bytes, over the ${limits.maxEmailBytes}-byte limit (MAX_EMAIL_BYTES)`,
        })),
      ];
      for (const f of failures) {
        await recordIngestFailure(tx, tenantId, f.sha256, f.type, `${where(f.uid)}: ${f.message}`);
        rows.push({
          uid: f.uid,
          status: 'failed',
          emailId: null,
          rawSha256: f.sha256,
          attachmentCount: 0,
          flags: flagsOf.get(f.uid) ?? [],
          reason: `${f.type}: ${f.message}`,
        });
        counts.failed++;
        refusedTypes.push(f.type);
      }
      await recordImapBatch(tx, tenantId, folder, rows, cursor);
    });
    recordBatchMetrics(tenantId, counts.stored, refusedTypes, cursor.highestUid !== undefined, newUids, meta);
    result.stored += counts.stored;
    result.linked += counts.linked;
    result.failed += counts.failed;
    result.created.push(...created);
  }

  /**
   * Committed: the batch's emails count as ingested from `imap`, its refusals by type; new mail (above
   * the highest UID, not the initial sync) also gives its lag from the server's INTERNALDATE.
   */
  function recordBatchMetrics(
    tenantId: string,
    stored: number,
    refusedTypes: string[],
    newMail: boolean,
    newUids: number[],
    meta: { uid: number; internalDate?: Date | string }[],
  ): void {
    if (stored > 0) metrics.emailIngested('imap', tenantId, stored);
    for (const type of refusedTypes) metrics.emailRefused('imap', type, tenantId);
    if (!newMail) return;
    const receivedAt = new Map(meta.map((m) => [m.uid, m.internalDate]));
    for (const uid of newUids) {
      const at = receivedAt.get(uid);
      if (at) metrics.mailboxSyncLag((Date.now() - new Date(at).getTime()) / 1000);
    }
  }

  return {
    /** One bounded pass over the mailbox's folders (see the header). */
    async syncMailbox(
      input: MailboxRef & { budget: number; stageAttachments: boolean },
    ): Promise<SyncPassResult> {
      return withSession(input, async (client, mailbox) => {
        const result: SyncPassResult = {
          more: false,
          stored: 0,
          linked: 0,
          failed: 0,
          flagsChanged: 0,
          expunged: 0,
          downloaded: 0,
          created: [],
        };
        const budget = { left: input.budget };
        for (const name of await syncedFolders(client, mailbox)) {
          try {
            await syncFolder(client, mailbox, name, budget, result, input.stageAttachments);
          } catch (err) {
            // A folder deleted or renamed on the server: said on the folder, the others go on.
            if (!(err as { mailboxMissing?: boolean }).mailboxMissing) throw err;
            const folder = await folderState(sql, mailbox.tenantId, mailbox.id, name);
            await touchFolder(sql, folder.id, { error: `the server has no folder "${name}" any more` });
          }
          if (budget.left <= 0) break;
        }
        result.more = budget.left <= 0;
        await setMailboxStatus(sql, input.tenantId, input.mailboxId, result.more ? 'syncing' : 'idle', {
          error: null,
          synced: true,
        });
        return result;
      });
    },

    /**
     * Wait for the server to say something changed: IDLE on the first folder (new mail, flags,
     * expunges), heartbeating; without IDLE, or with more folders to look at, it returns after
     * MAILBOX_POLL_SECONDS. Cancelled (pause, resync, disconnect), it returns at once.
     */
    async watchMailbox(input: MailboxRef): Promise<{ reason: 'changed' | 'timeout' | 'cancelled' }> {
      const ctx = Context.current();
      return withSession(
        input,
        async (client, mailbox) => {
          const folders = await syncedFolders(client, mailbox);
          const first = folders[0];
          const hasIdle = client.capabilities.has('IDLE');
          const waitMs = hasIdle && folders.length === 1 ? WATCH_MAX_MS : deps.imap.pollSeconds * 1000;
          if (first) {
            const box = await client.mailboxOpen(first, { readOnly: true });
            // Mail that arrived between the last pass's look and this EXAMINE is already in its EXISTS:
            // IDLE would only report the next change (the bench waited up to WATCH_MAX_MS for it).
            const seen = await folderState(sql, mailbox.tenantId, mailbox.id, first);
            if (changedSince(seen, box)) return { reason: 'changed' as const };
          }
          return new Promise((resolve, reject) => {
            const timers: NodeJS.Timeout[] = [];
            const finish = (reason: 'changed' | 'timeout' | 'cancelled') => {
              for (const t of timers) clearTimeout(t);
              resolve({ reason });
            };
            timers.push(setInterval(() => ctx.heartbeat(), HEARTBEAT_MS));
            timers.push(setTimeout(() => finish('timeout'), waitMs));
            for (const event of ['exists', 'expunge', 'flags'] as const) {
              client.on(event, () => finish('changed'));
            }
            client.on('close', () => {
              for (const t of timers) clearTimeout(t);
              reject(
                new UserFacingError(ErrorType.MailboxUnavailable, 'the server closed the connection', {
                  retryable: true,
                }),
              );
            });
            // Cancelled while connecting (a shutdown), the signal has already fired: return at once.
            if (ctx.cancellationSignal.aborted) return finish('cancelled');
            ctx.cancellationSignal.addEventListener('abort', () => finish('cancelled'));
            if (first && hasIdle) client.idle().catch(() => {});
          });
        },
        { maxIdleTimeMs: MAX_IDLE_TIME_MS },
      );
    },

    async setMailboxSyncStatus(
      input: MailboxRef & { status: MailboxStatus; error?: string | null },
    ): Promise<void> {
      await setMailboxStatus(sql, input.tenantId, input.mailboxId, input.status, {
        force: true,
        error: input.error,
      });
    },

    /** resync_mailbox: the folders (all when none named) are re-listed on the next pass. */
    async forgetMailboxFolders(input: MailboxRef & { folders: string[] | null }): Promise<number> {
      return forgetFolders(sql, input.tenantId, input.mailboxId, input.folders);
    },

    async disconnectMailbox(input: MailboxRef): Promise<void> {
      await disconnectImapMailbox(sql, input.tenantId, input.mailboxId);
    },

    /** Stored emails whose attachments or raw message did not reach storage (a crash after the commit). */
    mailboxFollowUpsPending(input: MailboxRef & { limit: number }): Promise<StoredFollowUp[]> {
      return followUpsPending(sql, input.tenantId, input.mailboxId, input.limit);
    },

    /** Emails this mailbox stored whose analysis was never started (a crash, a plan that failed). */
    mailboxAnalysisPending(input: MailboxRef & { limit: number }): Promise<string[]> {
      return analysisPending(sql, input.tenantId, input.mailboxId, input.limit);
    },

    /** Their analysis is started (or found off, or already done): the catch-up leaves them alone. */
    async markMailboxAnalysisStarted(input: MailboxRef & { emailIds: string[] }): Promise<void> {
      await markAnalysisStarted(sql, input.tenantId, input.mailboxId, input.emailIds);
    },
  };
}

async function syncedFolders(client: ImapFlow, mailbox: ImapMailboxRow): Promise<string[]> {
  if (!mailbox.folders.includes('*')) return mailbox.folders;
  return resolveFolders(client, ['*']);
}

/** The folder changed on the server since the last pass looked (its UIDVALIDITY, new UIDs, MODSEQ). */
function changedSince(
  seen: FolderState,
  box: { uidValidity?: bigint | number; uidNext?: number; highestModseq?: bigint | number },
): boolean {
  if (seen.uidvalidity !== String(box.uidValidity)) return true;
  if (Number(box.uidNext) - 1 > seen.highestUid) return true;
  return Boolean(
    box.highestModseq && seen.highestModseq && BigInt(box.highestModseq) > BigInt(seen.highestModseq),
  );
}

function keptFlags(flags: Set<string> | undefined): string[] {
  return [...(flags ?? [])].filter((f) => KEPT_FLAGS.has(f)).sort();
}

const IMAP_CODES = new Set([
  'NoConnection',
  'EConnectionClosed',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
  'ETIMEOUT',
  'ETHROTTLE',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Errors from the IMAP side (imapflow or its socket), as opposed to the database's. */
function isImapError(err: unknown): boolean {
  if (err instanceof UserFacingError || !(err instanceof Error)) return false;
  const e = err as {
    code?: string;
    authenticationFailed?: boolean;
    responseStatus?: string;
    mailboxMissing?: boolean;
  };
  return Boolean(
    e.authenticationFailed || e.responseStatus || e.mailboxMissing || (e.code && IMAP_CODES.has(e.code)),
  );
}

export type MailboxSyncActivities = ReturnType<typeof createMailboxSyncActivities>;
