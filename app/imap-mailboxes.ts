/**
 * IMAP mailboxes: connect (verify the login and the folders, encrypt the credentials, start the sync),
 * list, read, and steer (pause, resume, resync, disconnect) the one sync workflow each mailbox has,
 * `mailbox-sync/<tenant>/<mailboxId>`. Reads run as the caller (RLS is the second wall). Credentials go
 * from the request to the server being verified and, encrypted, to Postgres: never into a workflow
 * payload, a search attribute, a log line or a result.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { isLoopbackHost } from '../core/config.js';
import {
  credentialsKey,
  encryptSecret,
  type MailboxSecret,
  mailboxCredentialsContext,
} from '../core/credentials-cipher.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { closeImap, openImap, resolveFolders, type TlsMode } from '../imap/session.js';
import { asCaller } from '../supabase/caller.js';
import {
  disconnectImapMailbox,
  type FolderState,
  findImapMailbox,
  folderCounts,
  type ImapMailboxRow,
  listFolders,
  listImapMailboxes,
  saveCredentials,
  saveImapMailbox,
} from '../supabase/imap-mailboxes.js';
import {
  disconnectMailboxUpdate,
  type MailboxSyncInput,
  type MailboxSyncStatus,
  mailboxSyncContract,
  mailboxSyncWorkflowId,
  pauseMailboxUpdate,
  resumeMailboxUpdate,
  resyncMailboxUpdate,
} from '../workflows/mailbox-sync.contract.js';
import { searchAttribute, summaryText, TenantId } from '../workflows/search-attributes.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { priorityFor } from './priority.js';
import { executeUpdate, startWorkflow, uiLink } from './workflows.js';

export interface ConnectMailboxRequest {
  tenant?: string;
  host: string;
  port?: number;
  tls?: TlsMode;
  username: string;
  password?: string;
  accessToken?: string;
  /** Folder names; ['*'] for every folder but Trash and Junk. Default ['INBOX']. */
  folders?: string[];
  /** Days back the initial sync goes, or 'all'. Default 30. */
  since?: number | 'all';
}

export interface FolderView {
  name: string;
  uidValidity: string | null;
  highestUid: number;
  initialSync: { total: number; done: number; complete: boolean };
  messages: { stored: number; linked: number; failed: number; expunged: number };
  lastError: string | null;
  syncedAt: string | null;
  changeTracking: FolderState['changeTracking'];
}

export interface MailboxView {
  mailboxId: string;
  host: string;
  port: number;
  tls: TlsMode;
  username: string;
  auth: 'password' | 'xoauth2';
  folders: string[];
  since: number | 'all';
  status: ImapMailboxRow['status'];
  lastError: string | null;
  lastErrorAt: string | null;
  lastSyncAt: string | null;
  workflowId: string;
  temporalUiUrl?: string;
}

export interface MailboxDetail extends MailboxView {
  folderProgress: FolderView[];
}

const DEFAULT_PORTS: Record<TlsMode, number> = { tls: 993, starttls: 143, none: 143 };
const VERIFY_TIMEOUT_MS = 20_000;
/** Messages per sync pass (one activity): small enough that a pass is minutes, not hours. */
const PASS_BUDGET = 500;

export async function connectMailbox(deps: AppDeps, request: ConnectMailboxRequest): Promise<MailboxDetail> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'connect_mailbox');
  const tls = request.tls ?? 'tls';
  const account = {
    host: request.host.trim().toLowerCase(),
    port: request.port ?? DEFAULT_PORTS[tls],
    tls,
    username: request.username,
  };
  if (tls === 'none' && !isLoopbackHost(account.host)) {
    throw new UserFacingError(
      ErrorType.InvalidArgument,
      'tls "none" sends the password in the clear and is allowed for a loopback server only (127.0.0.1, ::1, localhost): use "tls" or "starttls"',
    );
  }
  if (Boolean(request.password) === Boolean(request.accessToken)) {
    throw new UserFacingError(ErrorType.InvalidArgument, 'give exactly one of `password` or `accessToken`');
  }
  const secret: MailboxSecret = request.password
    ? { kind: 'password', password: request.password }
    : { kind: 'xoauth2', accessToken: request.accessToken! };
  // Before anything is contacted or saved: without a key nothing could be stored.
  const key = credentialsKey(deps.imap);
  const spec = request.folders?.length ? [...new Set(request.folders)] : ['INBOX'];
  if (spec.includes('*') && spec.length > 1) {
    throw new UserFacingError(ErrorType.InvalidArgument, '`*` (all folders) cannot be combined with names');
  }

  // Verified before saving: the login, and every folder named.
  const client = await openImap(account, secret, { connectTimeoutMs: VERIFY_TIMEOUT_MS });
  let folders: string[];
  try {
    folders = spec.includes('*') ? ['*'] : await resolveFolders(client, spec);
    if (spec.includes('*')) await resolveFolders(client, spec);
  } finally {
    await closeImap(client);
  }

  const newId = randomUUID();
  const saved = await deps.sql.begin(async (tx) => {
    const row = await saveImapMailbox(tx, {
      id: newId,
      tenantId,
      ...account,
      auth: secret.kind,
      folders,
      sinceDays: request.since === 'all' ? null : (request.since ?? 30),
      workflowId: mailboxSyncWorkflowId(tenantId, newId),
      createdBy: deps.principal.actor,
    });
    const context = mailboxCredentialsContext(tenantId, row.id);
    await saveCredentials(tx, tenantId, row.id, encryptSecret(key, context, secret));
    return row;
  });
  await ensureSyncRunning(deps, tenantId, saved.id, `${account.username} at ${account.host}`);
  deps.log.info('mailbox connected', {
    actor: deps.principal.actor,
    mailboxId: saved.id,
    created: saved.created,
  });
  return getMailbox(deps, { tenant: tenantId, mailboxId: saved.id });
}

/**
 * Start the mailbox's workflow, or, when it runs already (waiting in needs_attention, say), resume it:
 * connect_mailbox with new credentials is how a refused mailbox comes back.
 */
async function ensureSyncRunning(deps: AppDeps, tenantId: string, mailboxId: string, label: string) {
  const workflowId = mailboxSyncWorkflowId(tenantId, mailboxId);
  const input: MailboxSyncInput = {
    tenantId,
    mailboxId,
    passBudget: PASS_BUDGET,
    filesTaskQueue: deps.files.taskQueue,
    analyse: deps.ai.analyseOnIngest,
  };
  try {
    await startWorkflow(deps.temporal, mailboxSyncContract, {
      workflowId,
      args: [input],
      // A disconnected mailbox's finished run is replaced by a new one; a running one is resumed below.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      // A mailbox's sync is bulk work, like an import: a single message waited for goes first.
      priority: await priorityFor(deps.sql, tenantId, 'bulk'),
      typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
      staticSummary: summaryText(`Sync mailbox ${label}`),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = deps.temporal.client.workflow.getHandle(workflowId);
    await withinBound(deps, () => executeUpdate(handle, resumeMailboxUpdate, []));
  }
}

export async function listMailboxes(deps: AppDeps, request: { tenant?: string }): Promise<MailboxView[]> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'list_mailboxes');
  const rows = await asCaller(deps.sql, deps.principal.claims, (tx) => listImapMailboxes(tx, tenantId));
  return rows.map((row) => viewOf(deps, row));
}

export async function getMailbox(
  deps: AppDeps,
  request: { tenant?: string; mailboxId: string },
): Promise<MailboxDetail> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'get_mailbox');
  const { row, folders, counts } = await asCaller(deps.sql, deps.principal.claims, async (tx) => {
    const found = await findImapMailbox(tx, tenantId, request.mailboxId);
    if (!found) return { row: null, folders: [], counts: new Map() };
    return {
      row: found,
      folders: await listFolders(tx, tenantId, found.id),
      counts: await folderCounts(tx, tenantId, found.id),
    };
  });
  if (!row) throw notFound(request.mailboxId);
  return { ...viewOf(deps, row), folderProgress: folders.map((f) => folderView(f, counts.get(f.id))) };
}

export type SteerAction = 'pause' | 'resume' | 'resync' | 'disconnect';

const ACTION_OF = {
  pause: 'pause_mailbox',
  resume: 'resume_mailbox',
  resync: 'resync_mailbox',
  disconnect: 'disconnect_mailbox',
} as const;

/**
 * Steer the mailbox's workflow by a validated update; the answer is the mailbox as it then stands.
 * A mailbox whose workflow is gone can still be disconnected (its credentials are deleted).
 */
export async function steerMailbox(
  deps: AppDeps,
  request: { tenant?: string; mailboxId: string; action: SteerAction; folder?: string },
): Promise<MailboxDetail & { sync?: MailboxSyncStatus }> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, ACTION_OF[request.action]);
  const row = await findImapMailbox(deps.sql, tenantId, request.mailboxId);
  if (!row) throw notFound(request.mailboxId);
  if (request.folder !== undefined && !row.folders.includes('*') && !row.folders.includes(request.folder)) {
    throw new UserFacingError(
      ErrorType.MailboxFolderNotFound,
      `"${request.folder}" is not one of this mailbox's folders (${row.folders.join(', ')})`,
    );
  }
  if (row.status === 'disconnected') {
    if (request.action === 'disconnect') return getMailbox(deps, { tenant: tenantId, mailboxId: row.id });
    throw new UserFacingError(
      ErrorType.InvalidTransition,
      'the mailbox is disconnected: connect_mailbox connects it again (stored mail is still there)',
    );
  }
  const handle = deps.temporal.client.workflow.getHandle(row.workflowId);
  let sync: MailboxSyncStatus | undefined;
  try {
    sync = await withinBound(deps, () => {
      switch (request.action) {
        case 'pause':
          return executeUpdate(handle, pauseMailboxUpdate, []);
        case 'resume':
          return executeUpdate(handle, resumeMailboxUpdate, []);
        case 'resync':
          return executeUpdate(handle, resyncMailboxUpdate, [{ folder: request.folder ?? null }]);
        case 'disconnect':
          return executeUpdate(handle, disconnectMailboxUpdate, []);
      }
    });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError) || request.action !== 'disconnect') throw err;
    await disconnectImapMailbox(deps.sql, tenantId, row.id);
  }
  deps.log.info(`mailbox ${request.action}`, { actor: deps.principal.actor, mailboxId: row.id });
  return { ...(await getMailbox(deps, { tenant: tenantId, mailboxId: row.id })), ...(sync ? { sync } : {}) };
}

/** Updates wait for a worker: bounded, so a stopped worker reads as TemporalUnavailable, not a hang. */
function withinBound<T>(deps: AppDeps, call: () => Promise<T>): Promise<T> {
  return deps.temporal.client.withDeadline(Date.now() + Math.max(deps.temporal.startTimeoutMs, 15_000), call);
}

function notFound(mailboxId: string): UserFacingError {
  return new UserFacingError(ErrorType.NotFound, `no mailbox ${mailboxId} in this organization`);
}

function viewOf(deps: AppDeps, row: ImapMailboxRow): MailboxView {
  return {
    mailboxId: row.id,
    host: row.host,
    port: row.port,
    tls: row.tls,
    username: row.username,
    auth: row.auth,
    folders: row.folders,
    since: row.sinceDays ?? 'all',
    status: row.status,
    lastError: row.lastError,
    lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
    lastSyncAt: row.lastSyncAt?.toISOString() ?? null,
    workflowId: row.workflowId,
    ...uiLink(deps, row.tenantId, row.workflowId),
  };
}

function folderView(f: FolderState, counts: FolderView['messages'] | undefined): FolderView {
  return {
    name: f.name,
    uidValidity: f.uidvalidity,
    highestUid: f.highestUid,
    initialSync: { total: f.backfillTotal, done: f.backfillDone, complete: f.backfillCursor <= 1 },
    messages: counts ?? { stored: 0, linked: 0, failed: 0, expunged: 0 },
    lastError: f.lastError,
    syncedAt: f.syncedAt?.toISOString() ?? null,
    changeTracking: f.changeTracking,
  };
}
