/**
 * mbox import activities. The file is streamed from a byte offset, never loaded whole. Every step is
 * idempotent: scanning records ledger rows by (mailbox, seq) and stages raw messages by SHA-256;
 * ingesting settles only pending rows, in the same transaction that stores the emails.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { heartbeat } from '@temporalio/activity';
import { parseEmailWithAttachments } from '../core/attachments.js';
import { type ParsedEmail, type ParseLimits, sha256Hex } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { resolveImportPath } from '../core/import-path.js';
import { type MboxMessage, MboxSplitter } from '../core/mbox.js';
import { claimAttachments } from '../supabase/attachments.js';
import type { Sql } from '../supabase/db.js';
import { recordIngestFailure, upsertEmail } from '../supabase/emails.js';
import {
  type LedgerEntry,
  ledgerAttachmentsPending,
  ledgerCounts,
  ledgerFailures,
  type MailboxAttachmentCounts,
  type MailboxCounts,
  mailboxLeftovers,
  pendingLedger,
  recordLedger,
  settleLedger,
} from '../supabase/mailboxes.js';
import { loadContent, loadContents, stageContents } from '../supabase/staged-content.js';
import { tenantSlug } from '../supabase/tenants.js';
import { claimOf } from './email-activities.js';

export interface MailboxActivityDeps {
  sql: Sql;
  limits: ParseLimits;
  importDir: string;
}

export type MailboxSource = { kind: 'path'; path: string } | { kind: 'upload'; sha256: string };

export interface MailboxRef {
  tenantId: string;
  /** SHA-256 of the mbox content: the mailbox's identity. */
  mailboxSha256: string;
  source: MailboxSource;
}

export interface ScanResult {
  scanned: number;
  nextOffset: number;
  nextSeq: number;
  eof: boolean;
}

export interface MailboxReport extends MailboxCounts, MailboxAttachmentCounts {
  failures: { seq: number; reason: string; detail: string | null }[];
  /**
   * Emails of the mailbox's messages (stored by this import or before it) whose raw message is not in
   * the raw-messages bucket (yet, while the import runs).
   */
  rawNotArchived: number;
}

const HEARTBEAT_EVERY = 50;

export function createMailboxActivities(deps: MailboxActivityDeps) {
  const { sql, limits, importDir } = deps;

  async function open(ref: MailboxRef, offset: number): Promise<Readable> {
    if (ref.source.kind === 'path') {
      // The path is relative to the tenant's own import folder, resolved here again: never another's.
      const file = await resolveImportPath(importDir, await tenantSlug(sql, ref.tenantId), ref.source.path);
      return createReadStream(file, { start: offset, highWaterMark: 256 * 1024 });
    }
    const content = await loadContent(sql, ref.tenantId, ref.source.sha256);
    if (!content) {
      throw new UserFacingError(ErrorType.RawMessageMissing, `no staged mailbox upload ${ref.source.sha256}`);
    }
    return Readable.from([content.subarray(offset)]);
  }

  return {
    /** Count the messages (for progress). Streams the whole file once, buffering none of it. */
    async inspectMailbox(ref: MailboxRef): Promise<{ messages: number }> {
      const splitter = new MboxSplitter(0);
      let messages = 0;
      for await (const chunk of await open(ref, 0)) {
        messages += splitter.push(chunk as Buffer).length;
        heartbeat();
      }
      return { messages: messages + splitter.end().length };
    },

    /** Read up to `maxMessages` messages from `offset`, stage them, and record them in the ledger. */
    async scanMailboxChunk(
      input: MailboxRef & { offset: number; seq: number; maxMessages: number },
    ): Promise<ScanResult> {
      const splitter = new MboxSplitter(limits.maxEmailBytes, { offset: input.offset, seq: input.seq });
      const taken: MboxMessage[] = [];
      let next: MboxMessage | undefined;
      const stream = await open(input, input.offset);
      for await (const chunk of stream) {
        for (const message of splitter.push(chunk as Buffer)) {
          if (taken.length < input.maxMessages) taken.push(message);
          else next ??= message;
        }
        if (next) break;
        heartbeat({ offset: input.offset, scanned: taken.length });
      }
      stream.destroy();
      if (!next) {
        for (const message of splitter.end()) {
          if (taken.length < input.maxMessages) taken.push(message);
          else next ??= message;
        }
      }

      const entries: LedgerEntry[] = [];
      const staged: { sha256: string; content: Uint8Array }[] = [];
      for (const m of taken) {
        if (m.kind === 'too-large') {
          const detail = `the message is ${m.sizeBytes} bytes, over the ${limits.maxEmailBytes}-byte limit (MAX_EMAIL_BYTES)`;
          entries.push({
            ...ledgerBase(m, m.sha256, m.sizeBytes),
            status: 'failed',
            reason: ErrorType.EmailTooLarge,
            detail,
          });
          await recordIngestFailure(sql, input.tenantId, m.sha256, ErrorType.EmailTooLarge, detail);
        } else {
          const sha256 = sha256Hex(m.raw);
          staged.push({ sha256, content: m.raw });
          entries.push({ ...ledgerBase(m, sha256, m.raw.length), status: 'pending' });
        }
      }
      await stageContents(sql, input.tenantId, staged);
      await recordLedger(sql, input.tenantId, input.mailboxSha256, entries);
      const last = taken.at(-1);
      return {
        scanned: taken.length,
        nextOffset: next?.offset ?? Number.MAX_SAFE_INTEGER,
        nextSeq: next?.seq ?? (last ? last.seq + 1 : input.seq),
        eof: !next,
      };
    },

    /**
     * Parse and store the pending messages with seq in [fromSeq, toSeq). All stores of the slice, their
     * attachment claims and their ledger updates commit in one transaction: fewer round trips, and a
     * retry after a crash finds each message either settled or still pending, never half-done.
     *
     * Each message is parsed once: its attachments come from the same parse and their bytes are staged
     * right away (before the transaction, and then dropped from memory), so the upload step after the
     * chunk reads only the claims (see stageEmailAttachments), not the raw message again.
     */
    async ingestMailboxSlice(
      input: Omit<MailboxRef, 'source'> & {
        fromSeq: number;
        toSeq: number;
        /** Claim and stage attachments for upload (only when a files queue uploads them). */
        stageAttachments?: boolean;
      },
    ): Promise<{ stored: number; duplicates: number; failed: number }> {
      const pending = await pendingLedger(
        sql,
        input.tenantId,
        input.mailboxSha256,
        input.fromSeq,
        input.toSeq,
      );
      const raws = await loadContents(
        sql,
        input.tenantId,
        pending.map((p) => p.rawSha256),
      );
      const parsed: {
        seq: number;
        email: ParsedEmail;
        attachments: ReturnType<typeof claimOf>[];
      }[] = [];
      const rejected: { seq: number; sha256: string; type: string; message: string }[] = [];
      for (const [i, entry] of pending.entries()) {
        const raw = raws.get(entry.rawSha256);
        try {
          if (!raw) throw new UserFacingError(ErrorType.RawMessageMissing, 'the staged message is missing');
          const parse = await parseEmailWithAttachments(raw, limits);
          const { email } = parse;
          const attachments = input.stageAttachments ? parse.attachments : [];
          // Staged for every parsed message; a duplicate's are never claimed and age out.
          await stageContents(sql, input.tenantId, attachments);
          parsed.push({ seq: entry.seq, email, attachments: attachments.map(claimOf) });
        } catch (err) {
          if (!(err instanceof UserFacingError)) throw err;
          rejected.push({ seq: entry.seq, sha256: entry.rawSha256, type: err.type, message: err.message });
        }
        if (i % HEARTBEAT_EVERY === 0) heartbeat({ parsed: i });
      }

      const counts = { stored: 0, duplicates: 0, failed: 0 };
      await sql.begin(async (tx) => {
        for (const { seq, email, attachments } of parsed) {
          const { emailId, created } = await upsertEmail(tx, input.tenantId, email);
          // Only a new email's attachments are uploaded (a duplicate's belong to the email stored before).
          if (created) await claimAttachments(tx, input.tenantId, emailId, attachments);
          const status = created ? 'stored' : 'duplicate';
          const outcome = { status, emailId, attachmentCount: email.attachmentCount } as const;
          if (await settleLedger(tx, input.tenantId, input.mailboxSha256, seq, outcome)) {
            counts[created ? 'stored' : 'duplicates']++;
          }
        }
        for (const r of rejected) {
          await recordIngestFailure(tx, input.tenantId, r.sha256, r.type, r.message);
          const outcome = { status: 'failed' as const, reason: r.type, detail: r.message };
          if (await settleLedger(tx, input.tenantId, input.mailboxSha256, r.seq, outcome)) counts.failed++;
        }
      });
      return counts;
    },

    /** Emails of a seq range whose attachments still need uploading (see ledgerAttachmentsPending). */
    mailboxAttachmentsPending(
      input: Omit<MailboxRef, 'source'> & { fromSeq: number; toSeq: number },
    ): Promise<{ emailId: string; rawSha256: string }[]> {
      return ledgerAttachmentsPending(sql, input.tenantId, input.mailboxSha256, input.fromSeq, input.toSeq);
    },

    async mailboxReport(input: Omit<MailboxRef, 'source'>): Promise<MailboxReport> {
      const counts = await ledgerCounts(sql, input.tenantId, input.mailboxSha256);
      const failures = await ledgerFailures(sql, input.tenantId, input.mailboxSha256, 20);
      return { ...counts, failures, ...(await mailboxLeftovers(sql, input.tenantId, input.mailboxSha256)) };
    },
  };
}

function ledgerBase(m: MboxMessage, rawSha256: string, sizeBytes: number) {
  return { seq: m.seq, byteOffset: m.offset, rawSha256, sizeBytes };
}

export type MailboxActivities = ReturnType<typeof createMailboxActivities>;
