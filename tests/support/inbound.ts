/** Test support for the inbound doors: messages with unique ids, and waiting for their email rows. */
import nodemailer from 'nodemailer';
import type { Sql } from '../../supabase/db.js';

/** A small message with a Message-ID of its own. */
export function message(id: string, opts: { to?: string; subject?: string; body?: string } = {}): string {
  return [
    'From: Sender <sender@remote.example>',
    `To: ${opts.to ?? 'inbox@example.com'}`,
    `Subject: ${opts.subject ?? `Inbound ${id}`}`,
    'Date: Thu, 03 Dec 2026 10:00:00 +0000',
    `Message-ID: <${id}@remote.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? `Body of ${id}.`,
    '',
  ].join('\r\n');
}

/** A real SMTP client (nodemailer) for the listener; STARTTLS off unless asked. */
export function smtpClient(
  port: number,
  opts: { tls?: boolean; auth?: { user: string; pass: string } } = {},
) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: !opts.tls,
    requireTLS: Boolean(opts.tls),
    tls: { rejectUnauthorized: false },
    auth: opts.auth,
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 60_000,
  });
}

/** Emails of a tenant whose Message-ID starts with `prefix`, once there are `count` of them (or after the wait). */
export async function waitForEmails(
  sql: Sql,
  tenantId: string,
  prefix: string,
  count: number,
  timeoutMs = 60_000,
): Promise<
  { id: string; message_id: string; subject: string; from_address: string; to_addresses: unknown }[]
> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await sql<
      { id: string; message_id: string; subject: string; from_address: string; to_addresses: unknown }[]
    >`
      select id, message_id, subject, from_address, to_addresses from public.emails
      where tenant_id = ${tenantId} and message_id like ${`${prefix}%`}
      order by message_id`;
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}
