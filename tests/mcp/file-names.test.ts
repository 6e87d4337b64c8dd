import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callError, callOk, ingestToEnd } from '../support/mcp-clients.js';

const TRICK = 'invoice\u202Efdp.exe';

function messageWithAttachment(id: string): string {
  return [
    'From: Mallory <mallory@example.com>',
    'To: you@example.com',
    `Subject: Invoice ${id}`,
    `Message-ID: <${id}@example.com>`,
    'Date: Mon, 16 Nov 2026 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Please pay.',
    '--b',
    'Content-Type: application/octet-stream',
    "Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe",
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(`MZ not really ${id}`).toString('base64'),
    '--b--',
    '',
  ].join('\r\n');
}

describe('file names without bidi and control characters', () => {
  const t = useHttpStack();

  it('upload_file stores the visible name', async () => {
    const out = await callOk<{ status: string; fileId: string }>(t.mcp, 'upload_file', {
      bucket: 'names',
      filename: TRICK,
      content: Buffer.from(uniqueName('bytes')).toString('base64'),
    });
    expect(out.status).toBe('completed');
    const rows = await t.stack.sql<{ filename: string }[]>`
      select filename from public.files where tenant_id = ${t.stack.defaultTenant.id} and bucket = 'names'`;
    expect(rows.map((r) => r.filename)).toEqual(['invoicefdp.exe']);
    expect(
      await callError(t.mcp, 'upload_file', { bucket: 'names', filename: '\u202E\u200B', content: 'aGk=' }),
    ).toBe('InvalidKey: the file name has no visible characters');
  });

  it('attachments are stored and returned by get_email with the visible name', async () => {
    const ingested = await ingestToEnd<{ emailId: string; attachments: { filename: string }[] }>(t.mcp, {
      raw: messageWithAttachment(uniqueName('inv')),
    });
    expect(ingested.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe']);
    const email = await callOk<{ attachments: { filename: string }[] }>(t.mcp, 'get_email', {
      emailId: ingested.emailId,
    });
    expect(email.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe']);
  });

  it('names stored before the cleaner: the migration cleans them, and no tool returns one uncleaned', async () => {
    const sql = t.stack.sql;
    const ingested = await ingestToEnd<{ emailId: string }>(t.mcp, {
      raw: messageWithAttachment(uniqueName('old')),
    });
    // As rows written before names were cleaned look.
    const [attachment] = await sql<{ file_id: string }[]>`
      update public.email_attachments set filename = ${TRICK}
      where email_id = ${ingested.emailId} returning file_id`;
    await sql`update public.files set filename = ${`x${TRICK}`} where id = ${attachment!.file_id}`;

    const email = await callOk<{ attachments: { filename: string }[] }>(t.mcp, 'get_email', {
      emailId: ingested.emailId,
    });
    expect(email.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe']);
    const again = await ingestToEnd<{ attachments: { filename: string }[] }>(t.mcp, {
      raw: messageWithAttachment(uniqueName('old')),
    });
    expect(again.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe']);

    // The migration that cleans what is stored (idempotent: run again here over the rows just made).
    await sql.unsafe(
      await readFile('supabase/migrations/20261203002100_clean_stored_file_names.sql', 'utf8'),
    );
    const [rows] = await sql<{ attachment: string; file: string }[]>`
      select a.filename as attachment, f.filename as file
      from public.email_attachments a join public.files f on f.id = a.file_id
      where a.email_id = ${ingested.emailId}`;
    expect(rows).toEqual({ attachment: 'invoicefdp.exe', file: 'xinvoicefdp.exe' });
  });
});
