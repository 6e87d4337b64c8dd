/**
 * IMAP mailboxes (migration 20261203005000_imap_mailboxes): accounts, their encrypted credentials, the
 * per-folder sync state and the per-message ledger. Every read and write is scoped by tenant.
 */
import type { Queryable, Sql } from './db.js';

export type MailboxStatus = 'syncing' | 'idle' | 'paused' | 'needs_attention' | 'disconnected';
/** How a folder's changes are read (migration 20261203009800): see imap_folders.change_tracking. */
export type ChangeTracking = 'qresync' | 'condstore' | 'full';

export interface ImapMailboxRow {
  id: string;
  tenantId: string;
  host: string;
  port: number;
  tls: 'tls' | 'starttls' | 'none';
  username: string;
  auth: 'password' | 'xoauth2';
  folders: string[];
  sinceDays: number | null;
  status: MailboxStatus;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSyncAt: Date | null;
  workflowId: string;
  createdAt: Date;
}

const MAILBOX_COLUMNS = `id, tenant_id as "tenantId", host, port, tls, username, auth, folders,
  since_days as "sinceDays", status, last_error as "lastError", last_error_at as "lastErrorAt",
  last_sync_at as "lastSyncAt", workflow_id as "workflowId", created_at as "createdAt"`;

export interface NewMailbox {
  id: string;
  tenantId: string;
  host: string;
  port: number;
  tls: ImapMailboxRow['tls'];
  username: string;
  auth: ImapMailboxRow['auth'];
  folders: string[];
  sinceDays: number | null;
  workflowId: string;
  createdBy: string;
}

/**
 * Save an account: a new row, or the same account (tenant, host, port, username) again with new settings,
 * which brings a disconnected or stuck mailbox back to syncing. Returns the row's id (the first one's).
 */
export async function saveImapMailbox(
  tx: Queryable,
  m: NewMailbox,
): Promise<{ id: string; created: boolean }> {
  const [row] = await tx<{ id: string; created: boolean }[]>`
    insert into public.imap_mailboxes
      (id, tenant_id, host, port, tls, username, auth, folders, since_days, workflow_id, created_by)
    values (${m.id}, ${m.tenantId}, ${m.host}, ${m.port}, ${m.tls}, ${m.username}, ${m.auth},
            ${m.folders}, ${m.sinceDays}, ${m.workflowId}, ${m.createdBy})
    on conflict (tenant_id, lower(host), port, lower(username)) do update set
      tls = excluded.tls, auth = excluded.auth, folders = excluded.folders, since_days = excluded.since_days,
      status = 'syncing', last_error = null, last_error_at = null, updated_at = now()
    returning id, (xmax = 0) as created`;
  return row!;
}

export async function saveCredentials(
  tx: Queryable,
  tenantId: string,
  mailboxId: string,
  ciphertext: string,
): Promise<void> {
  await tx`
    insert into public.imap_mailbox_credentials (mailbox_id, tenant_id, ciphertext)
    values (${mailboxId}, ${tenantId}, ${ciphertext})
    on conflict (mailbox_id) do update set ciphertext = excluded.ciphertext, updated_at = now()`;
}

export async function loadCredentials(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
): Promise<string | null> {
  const [row] = await sql<{ ciphertext: string }[]>`
    select ciphertext from public.imap_mailbox_credentials
    where tenant_id = ${tenantId} and mailbox_id = ${mailboxId}`;
  return row?.ciphertext ?? null;
}

/** Disconnect: the secret goes, the account row, its folders, ledger and stored mail stay. */
export async function disconnectImapMailbox(sql: Sql, tenantId: string, mailboxId: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from public.imap_mailbox_credentials where tenant_id = ${tenantId} and mailbox_id = ${mailboxId}`;
    await tx`
      update public.imap_mailboxes set status = 'disconnected', updated_at = now()
      where tenant_id = ${tenantId} and id = ${mailboxId}`;
  });
}

export async function findImapMailbox(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
): Promise<ImapMailboxRow | null> {
  const [row] = await sql<ImapMailboxRow[]>`
    select ${sql.unsafe(MAILBOX_COLUMNS)} from public.imap_mailboxes
    where tenant_id = ${tenantId} and id = ${mailboxId}`;
  return row ?? null;
}

export function listImapMailboxes(sql: Queryable, tenantId: string): Promise<ImapMailboxRow[]> {
  return sql<ImapMailboxRow[]>`
    select ${sql.unsafe(MAILBOX_COLUMNS)} from public.imap_mailboxes
    where tenant_id = ${tenantId} order by created_at, id`;
}

/**
 * The sync's own status changes (syncing ↔ idle) never override a state a person or a refusal set:
 * paused, needs_attention and disconnected change only through `force` (pause, resume, a refused login).
 */
export async function setMailboxStatus(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  status: MailboxStatus,
  opts: { force?: boolean; error?: string | null; synced?: boolean } = {},
): Promise<void> {
  const error = opts.error === undefined ? undefined : opts.error;
  await sql`
    update public.imap_mailboxes set
      status = ${status},
      last_error = ${error === undefined ? sql`last_error` : error},
      last_error_at = ${error === undefined ? sql`last_error_at` : error === null ? null : sql`now()`},
      last_sync_at = ${opts.synced ? sql`now()` : sql`last_sync_at`},
      updated_at = now()
    where tenant_id = ${tenantId} and id = ${mailboxId}
      and (${opts.force ?? false} or status not in ('paused', 'needs_attention', 'disconnected'))`;
}

/** A retryable failure (network, server restart): said, the status left as it is. */
export async function recordMailboxError(sql: Queryable, tenantId: string, mailboxId: string, error: string) {
  await sql`
    update public.imap_mailboxes set last_error = ${error}, last_error_at = now(), updated_at = now()
    where tenant_id = ${tenantId} and id = ${mailboxId}`;
}

// ---- Folders ---------------------------------------------------------------------------------------

export interface FolderState {
  id: string;
  name: string;
  uidvalidity: string | null;
  highestUid: number;
  backfillCursor: number;
  backfillTotal: number;
  backfillDone: number;
  highestModseq: string | null;
  syncedAt: Date | null;
  lastError: string | null;
  changeTracking: ChangeTracking | null;
}

const FOLDER_COLUMNS = `id, name, uidvalidity::text as uidvalidity, highest_uid::float8 as "highestUid",
  backfill_cursor::float8 as "backfillCursor", backfill_total as "backfillTotal",
  backfill_done as "backfillDone", highest_modseq::text as "highestModseq", synced_at as "syncedAt",
  last_error as "lastError", change_tracking as "changeTracking"`;

export async function folderState(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  name: string,
): Promise<FolderState> {
  await sql`
    insert into public.imap_folders (tenant_id, mailbox_id, name) values (${tenantId}, ${mailboxId}, ${name})
    on conflict (mailbox_id, name) do nothing`;
  const [row] = await sql<FolderState[]>`
    select ${sql.unsafe(FOLDER_COLUMNS)} from public.imap_folders
    where tenant_id = ${tenantId} and mailbox_id = ${mailboxId} and name = ${name}`;
  return row!;
}

export function listFolders(sql: Queryable, tenantId: string, mailboxId: string): Promise<FolderState[]> {
  return sql<FolderState[]>`
    select ${sql.unsafe(FOLDER_COLUMNS)} from public.imap_folders
    where tenant_id = ${tenantId} and mailbox_id = ${mailboxId} order by name`;
}

/**
 * A folder seen for the first time, or with a new UIDVALIDITY: everything above `highestUid` is new
 * mail, everything in the window below `backfillCursor` is the initial sync's, newest first.
 */
export async function resetFolder(
  sql: Queryable,
  folderId: string,
  state: { uidvalidity: string; highestUid: number; backfillTotal: number; highestModseq: string | null },
): Promise<void> {
  await sql`
    update public.imap_folders set uidvalidity = ${state.uidvalidity}, highest_uid = ${state.highestUid},
      backfill_cursor = ${state.highestUid + 1}, backfill_total = ${state.backfillTotal}, backfill_done = 0,
      highest_modseq = ${state.highestModseq}, last_error = null, updated_at = now()
    where id = ${folderId}`;
}

/** resync_mailbox: forget the folders' UIDVALIDITY, so the next pass re-lists them (and stores nothing twice). */
export async function forgetFolders(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  names: string[] | null,
): Promise<number> {
  const result = await sql`
    update public.imap_folders set uidvalidity = null, updated_at = now()
    where tenant_id = ${tenantId} and mailbox_id = ${mailboxId}
      and (${names === null} or name = any(${names ?? []}))`;
  return result.count;
}

export async function touchFolder(
  sql: Queryable,
  folderId: string,
  update: { highestModseq?: string | null; error?: string | null; changeTracking?: ChangeTracking },
): Promise<void> {
  await sql`
    update public.imap_folders set
      highest_modseq = ${update.highestModseq === undefined ? sql`highest_modseq` : update.highestModseq},
      change_tracking = ${update.changeTracking ?? sql`change_tracking`},
      last_error = ${update.error ?? null}, synced_at = now(), updated_at = now()
    where id = ${folderId}`;
}

// ---- The ledger ------------------------------------------------------------------------------------

export interface LedgerRow {
  uid: number;
  status: 'stored' | 'linked' | 'failed';
  emailId: string | null;
  rawSha256: string | null;
  attachmentCount: number;
  flags: string[];
  reason: string | null;
}

/**
 * One batch's ledger rows and the folder cursor it moves, in the caller's transaction (the one that
 * stored the emails). A row already there (the batch was retried after its commit) is left alone.
 */
export async function recordImapBatch(
  tx: Queryable,
  tenantId: string,
  folder: { id: string; uidvalidity: string },
  rows: LedgerRow[],
  cursor: { highestUid?: number; backfillCursor?: number; backfillDone: number },
): Promise<void> {
  if (rows.length > 0) {
    const values = rows.map((r) => ({
      tenant_id: tenantId,
      folder_id: folder.id,
      uidvalidity: folder.uidvalidity,
      uid: r.uid,
      status: r.status,
      email_id: r.emailId,
      raw_sha256: r.rawSha256,
      attachment_count: r.attachmentCount,
      flags: r.flags,
      reason: r.reason,
    }));
    await tx`insert into public.imap_messages ${tx(values)} on conflict (folder_id, uidvalidity, uid) do nothing`;
    const flagged = rows.filter((r) => r.emailId);
    for (const r of flagged) {
      await tx`update public.emails set flags = ${r.flags}, deleted_at = null
               where tenant_id = ${tenantId} and id = ${r.emailId} and (flags <> ${r.flags} or deleted_at is not null)`;
    }
  }
  await tx`
    update public.imap_folders set
      highest_uid = ${cursor.highestUid ?? tx`highest_uid`},
      backfill_cursor = ${cursor.backfillCursor ?? tx`backfill_cursor`},
      backfill_done = backfill_done + ${cursor.backfillDone},
      synced_at = now(), updated_at = now()
    where id = ${folder.id}`;
}

/** Flags the server reports changed: on the ledger row and on the stored email. */
export async function applyFlagChanges(
  sql: Sql,
  tenantId: string,
  folder: { id: string; uidvalidity: string },
  changes: { uid: number; flags: string[] }[],
): Promise<number> {
  let changed = 0;
  await sql.begin(async (tx) => {
    for (const c of changes) {
      const rows = await tx<{ email_id: string | null }[]>`
        update public.imap_messages set flags = ${c.flags}
        where folder_id = ${folder.id} and uidvalidity = ${folder.uidvalidity} and uid = ${c.uid}
          and flags <> ${c.flags}
        returning email_id`;
      const emailId = rows[0]?.email_id;
      if (!emailId) continue;
      changed++;
      await tx`update public.emails set flags = ${c.flags} where tenant_id = ${tenantId} and id = ${emailId}`;
    }
  });
  return changed;
}

/**
 * Expunges: the folder's ledger rows up to `highestUid` the server reports gone, either as the UIDs it
 * still lists (`live`: every other one is gone) or as the UIDs it says VANISHED (QRESYNC). The email gets
 * deleted_at once no folder of any mailbox holds it; it is never deleted.
 */
export async function markExpunged(
  sql: Sql,
  tenantId: string,
  folder: { id: string; uidvalidity: string; highestUid: number },
  server: { live: number[] } | { vanished: number[] },
): Promise<number> {
  if ('vanished' in server && server.vanished.length === 0) return 0;
  return sql.begin(async (tx) => {
    const gone = await tx<{ email_id: string | null }[]>`
      update public.imap_messages set expunged_at = now()
      where folder_id = ${folder.id} and uidvalidity = ${folder.uidvalidity} and expunged_at is null
        and uid <= ${folder.highestUid}
        and ${
          'live' in server
            ? tx`not (uid = any(${server.live}::bigint[]))`
            : tx`uid = any(${server.vanished}::bigint[])`
        }
      returning email_id`;
    const emailIds = [...new Set(gone.map((g) => g.email_id).filter((id): id is string => Boolean(id)))];
    if (emailIds.length > 0) {
      await tx`
        update public.emails e set deleted_at = now()
        where e.tenant_id = ${tenantId} and e.id = any(${emailIds}::uuid[]) and e.deleted_at is null
          and not exists (
            select 1 from public.imap_messages m join public.imap_folders f on f.id = m.folder_id
            where m.email_id = e.id and m.expunged_at is null and m.uidvalidity = f.uidvalidity)`;
    }
    return gone.length;
  });
}

/** Stored emails of the tenant with these dedup keys (Message-ID keys): found without their bodies. */
export async function storedByDedupKey(
  sql: Queryable,
  tenantId: string,
  keys: string[],
): Promise<Map<string, { emailId: string; rawSha256: string }>> {
  if (keys.length === 0) return new Map();
  const rows = await sql<{ key: string; emailId: string; rawSha256: string }[]>`
    select dedup_key as key, id as "emailId", raw_sha256 as "rawSha256" from public.emails
    where tenant_id = ${tenantId} and dedup_key = any(${keys}::text[])`;
  return new Map(rows.map(({ key, ...email }) => [key, email]));
}

/** Emails the mailbox stored whose analysis was never started, oldest first. */
export async function analysisPending(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  limit: number,
): Promise<string[]> {
  const rows = await sql<{ emailId: string }[]>`
    select m.email_id as "emailId" from public.imap_messages m
    join public.imap_folders f on f.id = m.folder_id
    where m.tenant_id = ${tenantId} and f.mailbox_id = ${mailboxId} and m.status = 'stored'
      and m.analysis_started_at is null and m.email_id is not null
    group by m.email_id order by min(m.created_at) limit ${limit}`;
  return rows.map((r) => r.emailId);
}

export async function markAnalysisStarted(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  emailIds: string[],
): Promise<void> {
  if (emailIds.length === 0) return;
  await sql`
    update public.imap_messages m set analysis_started_at = now()
    from public.imap_folders f
    where f.id = m.folder_id and f.mailbox_id = ${mailboxId} and m.tenant_id = ${tenantId}
      and m.email_id = any(${emailIds}::uuid[]) and m.analysis_started_at is null`;
}

/** Stored messages of the mailbox whose attachments or raw message are not in storage yet. */
export function followUpsPending(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
  limit: number,
): Promise<{ emailId: string; rawSha256: string; attachmentCount: number }[]> {
  return sql<{ emailId: string; rawSha256: string; attachmentCount: number }[]>`
    select distinct m.email_id as "emailId", m.raw_sha256 as "rawSha256", m.attachment_count as "attachmentCount"
    from public.imap_messages m
    join public.imap_folders f on f.id = m.folder_id
    join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and f.mailbox_id = ${mailboxId} and m.status = 'stored'
      and (e.raw_file_id is null or m.attachment_count > (
        select count(*) from public.email_attachments a where a.email_id = m.email_id and a.status = 'stored'))
    limit ${limit}`;
}

/** Per folder: messages stored, linked (already stored), failed and expunged, in its current UIDVALIDITY. */
export async function folderCounts(
  sql: Queryable,
  tenantId: string,
  mailboxId: string,
): Promise<Map<string, { stored: number; linked: number; failed: number; expunged: number }>> {
  const rows = await sql<
    { folderId: string; stored: number; linked: number; failed: number; expunged: number }[]
  >`
    select m.folder_id as "folderId",
           (count(*) filter (where m.status = 'stored'))::int as stored,
           (count(*) filter (where m.status = 'linked'))::int as linked,
           (count(*) filter (where m.status = 'failed'))::int as failed,
           (count(*) filter (where m.expunged_at is not null))::int as expunged
    from public.imap_messages m join public.imap_folders f on f.id = m.folder_id
    where m.tenant_id = ${tenantId} and f.mailbox_id = ${mailboxId} and m.uidvalidity = f.uidvalidity
    group by m.folder_id`;
  return new Map(rows.map(({ folderId, ...counts }) => [folderId, counts]));
}
