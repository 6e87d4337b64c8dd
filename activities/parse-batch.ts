/**
 * The parse step every batch source shares (mbox imports, IMAP mailboxes): each staged raw message is
 * parsed once with the ingestion's limits, its attachments staged for upload right away (then dropped
 * from memory), and a message the parser refuses is set aside with its reason. What follows is the
 * source's own transaction: upsertEmail + claimAttachments (storeParsed) and its ledger rows together.
 */
import { heartbeat } from '@temporalio/activity';
import { parseEmailWithAttachments } from '../core/attachments.js';
import type { ParsedEmail, ParseLimits } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { claimAttachments } from '../supabase/attachments.js';
import type { Queryable, Sql } from '../supabase/db.js';
import { upsertEmail, upsertEmails } from '../supabase/emails.js';
import { stageContents } from '../supabase/staged-content.js';
import { claimOf } from './email-activities.js';

const HEARTBEAT_EVERY = 50;

export interface ParsedItem<K> {
  key: K;
  email: ParsedEmail;
  attachments: ReturnType<typeof claimOf>[];
}

export interface RejectedItem<K> {
  key: K;
  sha256: string;
  type: string;
  message: string;
}

export async function parseBatch<K>(
  sql: Sql,
  limits: ParseLimits,
  tenantId: string,
  items: { key: K; sha256: string; raw: Uint8Array | undefined }[],
  /** Claim and stage attachments for upload (only when a files queue uploads them). */
  stageAttachments: boolean,
): Promise<{ parsed: ParsedItem<K>[]; rejected: RejectedItem<K>[] }> {
  const parsed: ParsedItem<K>[] = [];
  const rejected: RejectedItem<K>[] = [];
  for (const [i, item] of items.entries()) {
    // Let whatever else this process has to do (an interactive message's store step, a poll's answer)
    // run between two parses of a batch, not after all of them: a parse is mostly synchronous CPU.
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      if (!item.raw) throw new UserFacingError(ErrorType.RawMessageMissing, 'the staged message is missing');
      const parse = await parseEmailWithAttachments(item.raw, limits);
      const attachments = stageAttachments ? parse.attachments : [];
      // Staged for every parsed message; a duplicate's are never claimed and age out.
      await stageContents(sql, tenantId, attachments);
      parsed.push({ key: item.key, email: parse.email, attachments: attachments.map(claimOf) });
    } catch (err) {
      if (!(err instanceof UserFacingError)) throw err;
      rejected.push({ key: item.key, sha256: item.sha256, type: err.type, message: err.message });
    }
    if (i % HEARTBEAT_EVERY === 0) heartbeat({ parsed: i });
  }
  return { parsed, rejected };
}

/**
 * Store parsed emails in the caller's transaction with one upsert_email statement for all of them (see
 * upsertEmails); only a new email's attachments are claimed. Results in the order given.
 */
export async function storeParsedMany<K>(
  tx: Queryable,
  tenantId: string,
  items: ParsedItem<K>[],
): Promise<{ emailId: string; created: boolean }[]> {
  const stored = await upsertEmails(
    tx,
    tenantId,
    items.map((i) => i.email),
  );
  for (const [i, { emailId, created }] of stored.entries()) {
    if (created) await claimAttachments(tx, tenantId, emailId, items[i]!.attachments);
  }
  return stored;
}

/** Store one parsed email in the caller's transaction; only a new email's attachments are claimed. */
export async function storeParsed<K>(
  tx: Queryable,
  tenantId: string,
  item: ParsedItem<K>,
): Promise<{ emailId: string; created: boolean }> {
  const { emailId, created } = await upsertEmail(tx, tenantId, item.email);
  // A duplicate's attachments belong to the email stored before.
  if (created) await claimAttachments(tx, tenantId, emailId, item.attachments);
  return { emailId, created };
}
