/**
 * The files tables on a real Postgres: at-least-once semantics of the row writes the upload activities
 * make, and RLS with Supabase's roles (a member sees only their organization's files).
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asCaller } from '../../supabase/caller.js';
import type { Sql } from '../../supabase/db.js';
import {
  claimFile,
  markFileFailed,
  markFileUploaded,
  type NewFile,
  queueFileDeletion,
} from '../../supabase/files.js';
import { stageContent } from '../../supabase/staged-content.js';
import { addMember, ensureOrganization, type Tenant } from '../../supabase/tenants.js';
import { testDb, uniqueName } from '../support/harness.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function newFile(tenantId: string, content: string): NewFile {
  const sha256 = sha(content);
  return {
    tenantId,
    bucket: 'docs',
    storagePath: `${tenantId}/${sha256.slice(0, 2)}/${sha256}/a.txt`,
    filename: 'a.txt',
    sizeBytes: content.length,
    declaredMime: 'text/plain',
    detectedMime: null,
    mimeMismatch: false,
    sha256,
  };
}

describe('files tables', () => {
  let sql: Sql;
  let orgA: Tenant;
  let orgB: Tenant;
  const userA = randomUUID();

  beforeAll(async () => {
    sql = testDb();
    orgA = await ensureOrganization(sql, uniqueName('files-a'));
    orgB = await ensureOrganization(sql, uniqueName('files-b'));
    await addMember(sql, orgA.id, userA, 'member');
  });
  afterAll(() => sql?.end());

  it('claims a row once per content; a failed row is reopened, an uploaded one never regresses', async () => {
    const first = await claimFile(sql, newFile(orgA.id, 'one'));
    expect(first).toMatchObject({ created: true, row: { status: 'pending', attempts: 0 } });
    const again = await claimFile(sql, { ...newFile(orgA.id, 'one'), filename: 'other-name.txt' });
    expect(again).toMatchObject({ created: false, row: { id: first.row.id, filename: 'a.txt' } });

    await markFileFailed(sql, orgA.id, first.row.id, 'Http503: upstream');
    const reopened = await claimFile(sql, newFile(orgA.id, 'one'));
    expect(reopened.row).toMatchObject({ id: first.row.id, status: 'pending', error: null });

    await markFileUploaded(sql, orgA.id, first.row.id);
    // A late duplicate attempt failing must not undo the upload.
    await markFileFailed(sql, orgA.id, first.row.id, 'NetworkError: late');
    const [row] = await sql`select status, error from public.files where id = ${first.row.id}`;
    expect(row).toEqual({ status: 'uploaded', error: null });
  });

  it('a key is unique within its bucket: the same bytes and name in two buckets are two rows', async () => {
    const docs = await claimFile(sql, newFile(orgA.id, 'both buckets'));
    const media = await claimFile(sql, { ...newFile(orgA.id, 'both buckets'), bucket: 'media' });
    expect([docs.created, media.created]).toEqual([true, true]);
    expect(media.row.id).not.toBe(docs.row.id);
    expect(media.row.storagePath).toBe(docs.row.storagePath);
    // Within one bucket the key still names one object.
    const clash = claimFile(sql, { ...newFile(orgA.id, 'other bytes'), storagePath: docs.row.storagePath });
    await expect(clash).rejects.toThrow(/files_bucket_storage_path_key/);
  });

  it('queues a deletion once per object and stages content once per hash', async () => {
    const { row } = await claimFile(sql, newFile(orgA.id, 'two'));
    const job = {
      tenantId: orgA.id,
      fileId: row.id,
      bucket: 'docs',
      storagePath: row.storagePath,
      reason: 'retention',
    };
    await queueFileDeletion(sql, job);
    await queueFileDeletion(sql, job);
    const jobs =
      await sql`select status from public.file_deletion_jobs where storage_path = ${row.storagePath}`;
    expect(jobs).toEqual([{ status: 'queued' }]);

    await stageContent(sql, orgA.id, sha('two'), Buffer.from('two'));
    await stageContent(sql, orgA.id, sha('two'), Buffer.from('two'));
    const staged =
      await sql`select size_bytes::int as n from public.staged_content where sha256 = ${sha('two')}`;
    expect(staged).toEqual([{ n: 3 }]);
  });

  it('RLS: a member sees their organization’s files only; the API roles cannot write', async () => {
    const a = await claimFile(sql, newFile(orgA.id, 'rls'));
    const b = await claimFile(sql, newFile(orgB.id, 'rls'));
    const visible = await asCaller(
      sql,
      { role: 'authenticated', sub: userA },
      (tx) => tx`select id from public.files where id in (${a.row.id}, ${b.row.id})`,
    );
    expect(visible.map((r) => r.id)).toEqual([a.row.id]);
    const anon = await asCaller(
      sql,
      { role: 'anon' },
      (tx) => tx`select id from public.files where id = ${a.row.id}`,
    );
    expect(anon).toEqual([]);
    const insert = asCaller(sql, { role: 'authenticated', sub: userA }, (tx) =>
      claimFile(tx, newFile(orgA.id, 'sneaky')),
    );
    await expect(insert).rejects.toThrow(/permission denied|row-level security/);
  });
});
