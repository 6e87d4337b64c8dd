/**
 * mbox import activities. The file is streamed from a byte offset, never loaded whole. Every step is
 * idempotent: scanning records ledger rows by (mailbox, seq) and stages raw messages by SHA-256;
 * ingesting settles only pending rows, in the same transaction that stores the emails.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Context, heartbeat } from '@temporalio/activity';
import { type ParseLimits, sha256Hex } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { resolveImportPath } from '../core/import-path.js';
import { type MboxMessage, MboxSplitter } from '../core/mbox.js';
import type { Sql } from '../supabase/db.js';
import { recordIngestFailure } from '../supabase/emails.js';
import { recordRunEvent } from '../supabase/events.js';
import {
  type LedgerEntry,
  type LedgerOutcome,
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
import { parseBatch, storeParsedMany } from './parse-batch.js';

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

  async function report(input: Omit<MailboxRef, 'source'>): Promise<MailboxReport> {
    const counts = await ledgerCounts(sql, input.tenantId, input.mailboxSha256);
    const failures = await ledgerFailures(sql, input.tenantId, input.mailboxSha256, 20);
    return { ...counts, failures, ...(await mailboxLeftovers(sql, input.tenantId, input.mailboxSha256)) };
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
     * Each message is parsed once (parseBatch, shared with the IMAP sync): its attachments come from the
     * same parse and their bytes are staged right away, so the upload step after the chunk reads only the
     * claims (see stageEmailAttachments), not the raw message again.
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
      const { parsed, rejected } = await parseBatch(
        sql,
        limits,
        input.tenantId,
        pending.map((p) => ({ key: p.seq, sha256: p.rawSha256, raw: raws.get(p.rawSha256) })),
        input.stageAttachments ?? false,
      );

      const counts = { stored: 0, duplicates: 0, failed: 0 };
      await sql.begin(async (tx) => {
        const outcomes: LedgerOutcome[] = [];
        // One statement for the slice's emails: the tenant's thread lock is held for one round trip
        // rather than fifty.
        const stored = await storeParsedMany(tx, input.tenantId, parsed);
        for (const [i, item] of parsed.entries()) {
          const { emailId, created } = stored[i]!;
          const status = created ? 'stored' : 'duplicate';
          outcomes.push({ seq: item.key, status, emailId, attachmentCount: item.email.attachmentCount });
        }
        for (const r of rejected) {
          await recordIngestFailure(tx, input.tenantId, r.sha256, r.type, r.message);
          outcomes.push({ seq: r.key, status: 'failed', reason: r.type, detail: r.message });
        }
        // One statement for the slice's ledger rows: only those still pending count (a retry that
        // finds them settled by an earlier attempt counts nothing twice).
        const settled = await settleLedger(tx, input.tenantId, input.mailboxSha256, outcomes);
        for (const o of outcomes) {
          if (settled.has(o.seq)) counts[o.status === 'duplicate' ? 'duplicates' : o.status]++;
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

    mailboxReport: (input: Omit<MailboxRef, 'source'>) => report(input),

    /**
     * The import's last step: its report, and the `mailbox.imported` event with its counts (once per
     * run: a retry records nothing new). Subscribers hear of a finished import without polling.
     */
    async finishMailboxImport(input: Omit<MailboxRef, 'source'>): Promise<MailboxReport> {
      const done = await report(input);
      const { workflowId = '', runId = '' } = Context.current().info.workflowExecution ?? {};
      const { scanned, stored, duplicates, failed, rawNotArchived, attachmentsFailed } = done;
      const unfinished = failed > 0 || rawNotArchived > 0 || attachmentsFailed > 0;
      await recordRunEvent(sql, input.tenantId, 'mailbox.imported', input.mailboxSha256, {
        runId,
        workflowId,
        mailboxSha256: input.mailboxSha256,
        status: unfinished ? 'imported-with-failures' : 'imported',
        scanned,
        stored,
        duplicates,
        failed,
      });
      return done;
    },
  };
}

function ledgerBase(m: MboxMessage, rawSha256: string, sizeBytes: number) {
  return { seq: m.seq, byteOffset: m.offset, rawSha256, sizeBytes };
}

export type MailboxActivities = ReturnType<typeof createMailboxActivities>;
