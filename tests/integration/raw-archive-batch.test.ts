/**
 * The raw-message archive as a batch (activities/raw-archive-activities.ts) on a real Postgres and the
 * real filesystem backend: a slice is archived and linked in one pass; a storage fault part-way through
 * links what was written and leaves the rest unlinked with its rows `pending`, never an email pointing
 * at a file that is not uploaded; the retry finishes it without writing an object twice; a message the
 * bucket's rules refuse is reported and its row says why.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRawArchiver, RAW_MESSAGES_BUCKET } from '../../activities/raw-archive-activities.js';
import { parseEmail } from '../../core/email.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { setBucketRules } from '../../supabase/files.js';
import { type RawPending, rawPendingForEmails } from '../../supabase/raw-messages.js';
import { stageContent } from '../../supabase/staged-content.js';
import type { StorageBackend } from '../../supabase/storage/backend.js';
import { StorageFailure } from '../../supabase/storage/errors.js';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';
import { ensureOrganization } from '../../supabase/tenants.js';
import { testDb, uniqueName } from '../support/harness.js';
import { uniqueMessage } from '../support/subscriptions.js';

const signal = new AbortController().signal;

describe('raw-message archive, one batch per slice', () => {
  let sql: Sql;
  let root: string;

  beforeAll(async () => {
    sql = testDb();
    root = path.join(await mkdtemp(path.join(os.tmpdir(), 'raw-batch-')), 'storage');
    await createFilesystemBackend({ root }).ensureBucket(RAW_MESSAGES_BUCKET);
  });
  afterAll(() => sql?.end());

  async function storedEmails(tenantId: string, subjects: string[]): Promise<RawPending[]> {
    const stored: RawPending[] = [];
    for (const subject of subjects) {
      const raw = Buffer.from(uniqueMessage(subject));
      const parsed = await parseEmail(raw, { maxEmailBytes: 1_000_000 });
      await stageContent(sql, tenantId, parsed.rawSha256, raw);
      const { emailId } = await upsertEmail(sql, tenantId, parsed);
      stored.push({ emailId, rawSha256: parsed.rawSha256 });
    }
    return stored;
  }

  /** Each email's link and the status of the file it points at (null: not linked). */
  async function links(tenantId: string, emails: RawPending[]) {
    const rows = await sql<{ id: string; status: string | null }[]>`
      select e.id, f.status from public.emails e left join public.files f on f.id = e.raw_file_id
      where e.tenant_id = ${tenantId} and e.id = any(${emails.map((e) => e.emailId)}::uuid[])`;
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** The filesystem backend, with the writes of the raw messages named in `failing` refused as a 503 would be. */
  function faultyStorage(failing: Set<string>): StorageBackend & { writes: string[] } {
    const real = createFilesystemBackend({ root });
    const writes: string[] = [];
    return {
      ...real,
      writes,
      async uploadObject(bucket, key, source, opts) {
        if (opts.sha256 && failing.has(opts.sha256)) {
          throw new StorageFailure('retry', 'Http503', 'storage is unavailable');
        }
        writes.push(key);
        return real.uploadObject(bucket, key, source, opts);
      },
    };
  }

  const archiverOn = (storage: StorageBackend) =>
    createRawArchiver({ sql, storage, files: { importDir: root, maxUploadBytes: 10_000_000 } });

  it('archives and links a slice; a second pass finds nothing to do', async () => {
    const tenant = await ensureOrganization(sql, uniqueName('raw-batch'));
    const emails = await storedEmails(
      tenant.id,
      Array.from({ length: 12 }, (_, i) => `Batch ${i}`),
    );
    const storage = faultyStorage(new Set());
    const report = await archiverOn(storage)(tenant.id, emails, signal);
    expect(report).toEqual({ archived: 12, failed: [] });
    expect([...(await links(tenant.id, emails)).values()]).toEqual(Array(12).fill('uploaded'));
    expect(storage.writes).toHaveLength(12);
    const ids = emails.map((e) => e.emailId);
    expect(await rawPendingForEmails(sql, tenant.id, ids)).toEqual([]);
    // The same batch again (a retried activity that had already finished): links stay, nothing is written.
    const again = await archiverOn(storage)(tenant.id, emails, signal);
    expect(again).toEqual({ archived: 12, failed: [] });
    expect(storage.writes).toHaveLength(12);
  });

  it('a storage fault part-way links what was written, leaves the rest pending, and the retry finishes', async () => {
    const tenant = await ensureOrganization(sql, uniqueName('raw-batch-fault'));
    const emails = await storedEmails(
      tenant.id,
      Array.from({ length: 6 }, (_, i) => `Fault ${i}`),
    );
    const failing = new Set([emails[1]!.rawSha256, emails[4]!.rawSha256]);
    const storage = faultyStorage(failing);
    await expect(archiverOn(storage)(tenant.id, emails, signal, 1)).rejects.toThrow('storage is unavailable');
    const after = await links(tenant.id, emails);
    for (const [i, e] of emails.entries()) {
      expect(after.get(e.emailId)).toBe(i === 1 || i === 4 ? null : 'uploaded');
    }
    const rows = await sql<{ status: string; attempts: number }[]>`
      select status, attempts from public.files
      where tenant_id = ${tenant.id} and sha256 in ${sql([...failing])}`;
    expect(rows).toEqual([
      { status: 'pending', attempts: 1 },
      { status: 'pending', attempts: 1 },
    ]);

    // The retry works on the emails still unlinked only, as the activity's scope reads them.
    failing.clear();
    const pending = await rawPendingForEmails(
      sql,
      tenant.id,
      emails.map((e) => e.emailId),
    );
    expect(pending.map((p) => p.emailId).sort()).toEqual([emails[1]!.emailId, emails[4]!.emailId].sort());
    expect(await archiverOn(storage)(tenant.id, pending, signal, 2)).toEqual({ archived: 2, failed: [] });
    expect([...(await links(tenant.id, emails)).values()]).toEqual(Array(6).fill('uploaded'));
    expect(storage.writes).toHaveLength(6);
  });

  it("reports a message the bucket's rules refuse, marks its row failed, and archives the others", async () => {
    const tenant = await ensureOrganization(sql, uniqueName('raw-batch-rules'));
    const [small, large] = await storedEmails(tenant.id, ['Small', `Large ${'x'.repeat(3000)}`]);
    const limit = Math.ceil(
      (
        await sql<{ n: number }[]>`
          select max(size_bytes)::int as n from public.staged_content
          where tenant_id = ${tenant.id} and sha256 = ${small!.rawSha256}`
      )[0]!.n * 1.5,
    );
    await setBucketRules(sql, tenant.id, RAW_MESSAGES_BUCKET, {
      sizeLimitBytes: limit,
      allowedMimeTypes: null,
    });
    const report = await archiverOn(faultyStorage(new Set()))(tenant.id, [small!, large!], signal);
    expect(report.archived).toBe(1);
    expect(report.failed).toEqual([
      {
        emailId: large!.emailId,
        error: expect.stringMatching(
          new RegExp(`^EntityTooLarge: \\d+ bytes is over the ${limit}-byte limit of bucket "raw-messages"$`),
        ),
      },
    ]);
    const [row] = await sql<{ status: string; error: string }[]>`
      select status, error from public.files where tenant_id = ${tenant.id} and sha256 = ${large!.rawSha256}`;
    expect(row).toEqual({ status: 'failed', error: report.failed[0]!.error });
    expect((await links(tenant.id, [small!, large!])).get(large!.emailId)).toBeNull();
  });
});
