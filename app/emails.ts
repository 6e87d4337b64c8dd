/**
 * Reading stored mail, always as the caller (supabase/caller.ts), so RLS is the second wall behind the
 * explicit tenant filter: an id of another tenant reads as not found.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { EmailMissing, StoredAttachment, StoredEmail } from '../core/records.js';
import { listAttachments } from '../supabase/attachments.js';
import { asCaller } from '../supabase/caller.js';
import {
  type EmailSearchFilter,
  type EmailSearchHit,
  getEmail as readEmail,
  searchEmails as search,
} from '../supabase/email-queries.js';
import { rawArchiveFailure } from '../supabase/raw-messages.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';

/** Deepest page a search serves. */
export const MAX_SEARCH_OFFSET = 10_000;

/** Flag filters of search_emails, each an IMAP flag the result must have or must not have. */
export const FLAG_FILTERS = {
  seen: { with: '\\Seen' },
  unseen: { without: '\\Seen' },
  flagged: { with: '\\Flagged' },
  unflagged: { without: '\\Flagged' },
  answered: { with: '\\Answered' },
  unanswered: { without: '\\Answered' },
  draft: { with: '\\Draft' },
} as const satisfies Record<string, { with: string } | { without: string }>;
export type FlagFilter = keyof typeof FLAG_FILTERS;

export interface SearchEmailsRequest {
  query: string;
  tenant?: string;
  limit?: number;
  offset?: number;
  /** Every one must hold (e.g. ['flagged', 'unseen']). */
  flags?: FlagFilter[];
  /** Also emails expunged on the server (deletedAt set); default false. */
  includeDeleted?: boolean;
}

export interface SearchEmailsOutcome {
  total: number;
  results: EmailSearchHit[];
  /** Pass as offset for the next page. */
  nextOffset?: number;
}

/** Ranked full-text search over subject, sender and body, within one tenant, paginated. */
export async function searchEmails(
  deps: AppDeps,
  request: SearchEmailsRequest,
): Promise<SearchEmailsOutcome> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'search_emails');
  const limit = request.limit ?? 10;
  const offset = request.offset ?? 0;
  const filter = searchFilter(request.flags ?? [], request.includeDeleted ?? false);
  const { total, hits } = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    search(tx, tenantId, request.query, { limit, offset }, filter),
  );
  const next = offset + hits.length;
  return {
    total,
    results: hits,
    ...(next < total && next <= MAX_SEARCH_OFFSET ? { nextOffset: next } : {}),
  };
}

function searchFilter(flags: FlagFilter[], includeDeleted: boolean): EmailSearchFilter {
  const filter: EmailSearchFilter = { with: [], without: [], includeDeleted };
  for (const name of new Set(flags)) {
    const rule: { with?: string; without?: string } = FLAG_FILTERS[name];
    if (rule.with) filter.with.push(rule.with);
    if (rule.without) filter.without.push(rule.without);
  }
  const both = filter.with.filter((f) => filter.without.includes(f));
  if (both.length > 0) {
    throw new UserFacingError(
      ErrorType.InvalidArgument,
      `flags: ${both.join(', ')} is asked for both with and without: no email can match`,
    );
  }
  return filter;
}

export type EmailWithAttachments = StoredEmail & { attachments: StoredAttachment[]; missing: EmailMissing };

/** The retry that completes a stored email's files: a new run does only what is missing. */
export const COMPLETE_EMAIL_HINT =
  'ingest the same message again (ingest_email), or import a mailbox that contains it again ' +
  '(ingest_mailbox): the run stores only what is missing';

/** One stored email with its parsed fields and its attachments. */
export async function getEmail(
  deps: AppDeps,
  request: { emailId: string; tenant?: string },
): Promise<EmailWithAttachments> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'get_email');
  const found = await asCaller(deps.sql, deps.principal.claims, async (tx) => {
    const email = await readEmail(tx, tenantId, request.emailId);
    if (!email) return null;
    const attachments = await listAttachments(tx, tenantId, request.emailId);
    const rawMessage = email.rawFile
      ? null
      : { error: await rawArchiveFailure(tx, tenantId, email.rawSha256) };
    const open = attachments.flatMap((a) =>
      a.status === 'stored' ? [] : [{ partIndex: a.partIndex, status: a.status, error: a.error }],
    );
    const missing =
      rawMessage || open.length > 0 ? { rawMessage, attachments: open, retry: COMPLETE_EMAIL_HINT } : null;
    return { ...email, attachments, missing };
  });
  if (!found) throw new UserFacingError(ErrorType.NotFound, `no email ${request.emailId} for this caller`);
  return found;
}
