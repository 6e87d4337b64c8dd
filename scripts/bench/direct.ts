/**
 * The no-Temporal baseline the benchmarks compare with: the same parse, the same SQL and the same
 * raw-message archive to storage as the workflows, called directly in this process.
 */
import { createRawArchiver } from '../../activities/raw-archive-activities.js';
import type { Config } from '../../core/config.js';
import { parseEmail } from '../../core/email.js';
import { MboxSplitter } from '../../core/mbox.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { stageContent, stageContents } from '../../supabase/staged-content.js';
import { createStorageBackend } from '../../supabase/storage/index.js';

/** One generated message; `tag` keeps the Message-IDs of different runs apart. */
export function singleMessage(i: number, tag: string): string {
  return (
    `From: Bench <bench@example.com>\r\nTo: inbox@example.org\r\nSubject: single ${tag} ${i}\r\n` +
    `Message-ID: <single-${tag}-${i}@bench>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nBody ${i}\r\n`
  );
}

export interface DirectBaseline {
  /** Parse, stage, store and archive one message; the email id. */
  single(raw: string): Promise<string>;
  /** The same work as the mailbox activities: slices per transaction (MAILBOX_SLICE_MESSAGES), each archived. */
  mailbox(mbox: string): Promise<void>;
  /** One slice of that: stage, parse, store in one transaction, archive. */
  slice(raws: Uint8Array[]): Promise<void>;
}

/** An mbox file's messages in slices, as the import activities take them. */
export function mboxSlices(mbox: string, maxEmailBytes: number, sliceMessages: number): Uint8Array[][] {
  const splitter = new MboxSplitter(maxEmailBytes);
  const all = [...splitter.push(Buffer.from(mbox)), ...splitter.end()];
  const slices: Uint8Array[][] = [];
  for (let i = 0; i < all.length; i += sliceMessages)
    slices.push(all.slice(i, i + sliceMessages).flatMap((m) => (m.kind === 'message' ? [m.raw] : [])));
  return slices;
}

export function directBaseline(sql: Sql, config: Config, tenantId: string): DirectBaseline {
  const archive = createRawArchiver({
    sql,
    storage: createStorageBackend(config.storage),
    files: config.files,
  });
  // The same batch as the archive activity: one per single message, one per slice.
  const archiveAll = (emails: { emailId: string; rawSha256: string }[]) =>
    archive(tenantId, emails, new AbortController().signal);
  return {
    async single(text) {
      const raw = new TextEncoder().encode(text);
      const parsed = await parseEmail(raw, config.limits);
      await stageContent(sql, tenantId, parsed.rawSha256, raw);
      const { emailId } = await upsertEmail(sql, tenantId, parsed);
      await archiveAll([{ emailId, rawSha256: parsed.rawSha256 }]);
      return emailId;
    },
    async slice(slice) {
      const parsed = await Promise.all(slice.map((raw) => parseEmail(raw, config.limits)));
      await stageContents(
        sql,
        tenantId,
        parsed.map((p, j) => ({ sha256: p.rawSha256, content: slice[j]! })),
      );
      const stored = await sql.begin(async (tx) => {
        const ids: { emailId: string; rawSha256: string }[] = [];
        for (const p of parsed)
          ids.push({ emailId: (await upsertEmail(tx, tenantId, p)).emailId, rawSha256: p.rawSha256 });
        return ids;
      });
      await archiveAll(stored);
    },
    async mailbox(mbox) {
      for (const slice of mboxSlices(mbox, config.limits.maxEmailBytes, config.mailbox.sliceMessages))
        await this.slice(slice);
    },
  };
}
