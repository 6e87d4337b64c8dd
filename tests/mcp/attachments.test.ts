/**
 * Attachments over MCP on the real stack: each becomes a file through the upload workflow (a child of
 * ingestion), linked in email_attachments with a sanitised name; a failed upload marks the attachment,
 * not the email, and ingesting the message again completes it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setBucketRules } from '../../supabase/files.js';
import { useHttpStack } from '../support/http-stack.js';
import { callOk, ingestToEnd } from '../support/mcp-clients.js';

const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function message(id: string, parts: { name: string; type: string; body: Buffer; inline?: string }[]): string {
  const rendered = parts.map(
    (p) =>
      `--mix\r\nContent-Type: ${p.type}; name="${p.name}"\r\nContent-Transfer-Encoding: base64\r\n` +
      (p.inline
        ? `Content-Disposition: inline; filename="${p.name}"\r\nContent-ID: <${p.inline}>\r\n`
        : `Content-Disposition: attachment; filename="${p.name}"\r\n`) +
      `\r\n${p.body.toString('base64')}\r\n`,
  );
  return (
    `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: files ${id}\r\nMessage-ID: <${id}@x>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\n` +
    `See attached.\r\n${rendered.join('')}--mix--\r\n`
  );
}

interface IngestOut {
  emailId: string;
  runId: string;
  attachments: { partIndex: number; filename: string; status: string; fileId?: string; error?: string }[];
}

describe('email attachments', () => {
  const t = useHttpStack();

  it('uploads every attachment as a file and links it, with a safe name', async () => {
    const raw = message('three', [
      { name: 'report.pdf', type: 'application/pdf', body: pdf },
      { name: '../../etc/passwd', type: 'text/plain', body: Buffer.from('root:x:0:0\n') },
      { name: 'logo.png', type: 'image/png', body: png, inline: 'logo@x' },
    ]);
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw });
    expect(out.attachments.map((a) => [a.filename, a.status])).toEqual([
      ['report.pdf', 'stored'],
      ['passwd', 'stored'],
      ['logo.png', 'stored'],
    ]);

    const rows = await t.stack.sql`
      select a.part_index, a.filename, a.declared_mime, a.detected_mime, a.size_bytes::int as size, a.sha256,
             a.inline, a.content_id, a.status, f.status as file_status, f.bucket, f.storage_path
      from public.email_attachments a join public.files f on f.id = a.file_id
      where a.email_id = ${out.emailId} order by a.part_index`;
    expect(
      rows.map((r) => [r.filename, r.declared_mime, r.detected_mime, r.size, r.inline, r.content_id]),
    ).toEqual([
      ['report.pdf', 'application/pdf', 'application/pdf', pdf.length, false, null],
      // Text by its bytes: classified when file-type finds no magic number (core/content-class.ts).
      ['passwd', 'text/plain', 'text/plain', 11, false, null],
      ['logo.png', 'image/png', 'image/png', png.length, true, 'logo@x'],
    ]);
    expect(
      rows.every((r) => r.status === 'stored' && r.file_status === 'uploaded' && r.bucket === 'attachments'),
    ).toBe(true);
    expect(rows[0]!.sha256).toBe(sha(pdf));

    // The bytes are really in the bucket, under their content address.
    if (t.stack.config.storage.kind !== 'filesystem')
      throw new Error('the test stack uses filesystem storage');
    const stored = await readFile(
      path.join(t.stack.config.storage.root, 'attachments', rows[0]!.storage_path as string),
    );
    expect(sha(stored)).toBe(sha(pdf));

    const email = await callOk<{
      attachments: { filename: string; status: string; fileId: string | null }[];
    }>(t.mcp, 'get_email', { emailId: out.emailId });
    expect(email.attachments.map((a) => a.filename)).toEqual(['report.pdf', 'passwd', 'logo.png']);
    expect(email.attachments.every((a) => a.status === 'stored' && a.fileId)).toBe(true);
  });

  it('keeps the email when an attachment fails, and a later ingestion completes it', async () => {
    const big = Buffer.alloc(4096, 7);
    const raw = message('retry', [
      { name: 'small.bin', type: 'application/octet-stream', body: Buffer.from('tiny') },
      { name: 'big.bin', type: 'application/octet-stream', body: big },
    ]);
    const tenant = t.stack.defaultTenant.id;
    await setBucketRules(t.stack.sql, tenant, 'attachments', {
      sizeLimitBytes: 1024,
      allowedMimeTypes: null,
    });

    const first = await ingestToEnd<IngestOut>(t.mcp, { raw });
    expect(first.attachments.map((a) => [a.filename, a.status])).toEqual([
      ['small.bin', 'stored'],
      ['big.bin', 'failed'],
    ]);
    expect(first.attachments[1]!.error).toMatch(/^EntityTooLarge: /);
    const [failed] = await t.stack.sql`
      select status, error from public.email_attachments where email_id = ${first.emailId} and part_index = 1`;
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/^EntityTooLarge/) });

    await setBucketRules(t.stack.sql, tenant, 'attachments', {
      sizeLimitBytes: null,
      allowedMimeTypes: null,
    });
    const again = await ingestToEnd<IngestOut>(t.mcp, { raw });
    expect(again.emailId).toBe(first.emailId);
    expect(again.runId).not.toBe(first.runId);
    // Only the failed one is retried; the stored one is not uploaded again.
    expect(again.attachments.map((a) => [a.filename, a.status])).toEqual([['big.bin', 'stored']]);
    const statuses = await t.stack.sql`
      select status from public.email_attachments where email_id = ${first.emailId} order by part_index`;
    expect(statuses.map((s) => s.status)).toEqual(['stored', 'stored']);
    const [emails] = await t.stack
      .sql`select count(*)::int as n from public.emails where message_id = 'retry@x'`;
    expect(emails!.n).toBe(1);

    // Nothing left to retry: the next call returns the completed run.
    const third = await ingestToEnd<IngestOut>(t.mcp, { raw });
    expect(third.runId).toBe(again.runId);
  });
});
