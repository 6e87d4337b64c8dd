/**
 * What the MCP resources read (mcp/resources.ts), always as the caller, for the caller's default tenant
 * (an API key has exactly one): an email, its raw message, a thread, the latest emails, a run, and the
 * ids a client may complete. Each checks the permission of the tool that reads the same thing.
 */
import { buffer } from 'node:stream/consumers';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { asCaller } from '../supabase/caller.js';
import {
  completeMailIds,
  type MailListItem,
  recentEmails,
  stagedRawMessage,
  threadEmails,
} from '../supabase/mail-feeds.js';
import type { StorageBackend } from '../supabase/storage/index.js';
import { TenantId } from '../workflows/search-attributes.js';
import type { AppDeps } from './deps.js';
import { type EmailWithAttachments, getEmail } from './emails.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';

/** The app's deps plus, where the server has it, storage for archived raw messages. */
export type ResourceDeps = AppDeps & { storage?: StorageBackend };

export const THREAD_LIMIT = 200;
export const RECENT_LIMIT = 50;
const COMPLETIONS = 20;

export interface ThreadView {
  threadId: string;
  emails: MailListItem[];
}

export async function readThread(deps: AppDeps, threadId: string): Promise<ThreadView> {
  const tenantId = await resolveTenant(deps.sql, deps.principal);
  authorize(deps.principal, tenantId, 'get_email');
  const emails = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    threadEmails(tx, tenantId, threadId, THREAD_LIMIT),
  );
  if (emails.length === 0)
    throw new UserFacingError(ErrorType.NotFound, `no thread ${threadId} for this caller`);
  return { threadId, emails };
}

export async function readRecentEmails(deps: AppDeps): Promise<{ emails: MailListItem[] }> {
  const tenantId = await resolveTenant(deps.sql, deps.principal);
  authorize(deps.principal, tenantId, 'search_emails');
  const emails = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    recentEmails(tx, tenantId, RECENT_LIMIT),
  );
  return { emails };
}

/**
 * An email the caller may read, with its raw RFC 5322 message: from the staged bytes while they are
 * kept, else from the raw-messages bucket when this server has storage; raw is null when neither has it.
 */
export async function readEmailWithRaw(
  deps: ResourceDeps,
  emailId: string,
): Promise<{ email: EmailWithAttachments; raw: Buffer | null }> {
  const email = await getEmail(deps, { emailId });
  const tenantId = await resolveTenant(deps.sql, deps.principal);
  const staged = await stagedRawMessage(deps.sql, tenantId, email.rawSha256);
  if (staged) return { email, raw: staged };
  if (email.rawFile && deps.storage) {
    const stream = await deps.storage.getObject(email.rawFile.bucket, email.rawFile.path);
    return { email, raw: await buffer(stream) };
  }
  return { email, raw: null };
}

/** Ids of the caller's recent emails or threads, or runs, that start with `prefix`. */
export async function completeIds(
  deps: AppDeps,
  kind: 'email' | 'thread' | 'run',
  prefix: string,
): Promise<string[]> {
  const tenantId = await resolveTenant(deps.sql, deps.principal);
  authorize(deps.principal, tenantId, kind === 'run' ? 'get_workflow' : 'search_emails');
  if (kind !== 'run') {
    return asCaller(deps.sql, deps.principal.claims, (tx) =>
      completeMailIds(tx, tenantId, kind, prefix, COMPLETIONS),
    );
  }
  const quoted = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  let query = `${TenantId.name} = ${quoted(tenantId)}`;
  if (prefix) query += ` AND WorkflowId STARTS_WITH ${quoted(prefix)}`;
  const ids: string[] = [];
  for await (const run of deps.temporal.client.workflow.list({ query, pageSize: COMPLETIONS })) {
    if (!ids.includes(run.workflowId)) ids.push(run.workflowId);
    if (ids.length >= COMPLETIONS) break;
  }
  return ids;
}
