/**
 * The inbound SMTP listener, met as a sending MTA meets it: nodemailer over a real socket. Delivery
 * stores the email (row, fields, ledger); an unknown recipient is refused at RCPT with 550; a message
 * over MAX_EMAIL_BYTES gets 552 and nothing is stored; 20 senders × 5 messages store exactly 100; a
 * message for two organizations reaches each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningSmtpServer } from '../../mcp/smtp.js';
import { addInboundAddress } from '../../supabase/inbound.js';
import { ensureOrganization, type Tenant } from '../../supabase/tenants.js';
import { startSmtp } from '../../workers/inbound-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { message, smtpClient, waitForEmails } from '../support/inbound.js';

const MAX_EMAIL_BYTES = 100_000;

describe('inbound SMTP', () => {
  let stack: Stack;
  let smtp: RunningSmtpServer;
  let other: Tenant;
  let local: string;

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MAX_EMAIL_BYTES: String(MAX_EMAIL_BYTES) }));
    smtp = await startSmtp(stack, createLogger('warn'), 0);
    local = `inbox@${stack.defaultTenant.slug}.localhost`;
    other = await ensureOrganization(stack.sql, uniqueName('smtp-other'));
    await addInboundAddress(stack.sql, other.id, 'domain', `${other.slug}.example`);
  });
  afterAll(async () => {
    await smtp?.close();
    await stack?.shutdown();
  });

  it('stores a delivered message: 250 only once staged, then the email row', async () => {
    const id = uniqueName('smtp-one');
    const info = await smtpClient(smtp.port).sendMail({
      envelope: { from: 'bounce@remote.example', to: [local] },
      raw: message(id, { to: local, subject: 'Quarterly numbers' }),
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9a-f]{16}$/);
    expect(info.accepted).toEqual([local]);
    // Staged and recorded before the 250: the ledger row exists as soon as the client has its answer.
    const [ledger] = await stack.sql<{ source: string; envelope: Record<string, unknown> }[]>`
      select m.source, m.envelope from public.inbound_messages m
      join public.staged_content s on s.tenant_id = m.tenant_id and s.sha256 = m.raw_sha256
      where m.tenant_id = ${stack.defaultTenant.id} and m.envelope ->> 'mailFrom' = 'bounce@remote.example'`;
    expect(ledger?.source).toBe('smtp');
    expect(ledger?.envelope.recipients).toEqual([local]);

    const [email] = await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1);
    expect(email).toMatchObject({
      message_id: `${id}@remote.example`,
      subject: 'Quarterly numbers',
      from_address: 'sender@remote.example',
    });
    expect(email!.to_addresses).toEqual([{ name: null, address: local }]);
    const [started] = await stack.sql<{ workflow_id: string | null }[]>`
      select workflow_id from public.inbound_messages
      where tenant_id = ${stack.defaultTenant.id} and envelope ->> 'mailFrom' = 'bounce@remote.example'`;
    expect(started?.workflow_id).toMatch(new RegExp(`^email/${stack.defaultTenant.id}/[0-9a-f]{64}$`));
  });

  it('refuses an unknown recipient at RCPT with 550, and stores nothing', async () => {
    const id = uniqueName('smtp-unknown');
    const err = await smtpClient(smtp.port)
      .sendMail({ envelope: { from: 'a@remote.example', to: ['nobody@unknown.example'] }, raw: message(id) })
      .then(
        () => null,
        (e: { responseCode?: number; response?: string; command?: string }) => e,
      );
    expect(err?.responseCode).toBe(550);
    expect(err?.command).toBe('RCPT TO');
    expect(err?.response).toBe(
      '550 5.1.1 <nobody@unknown.example>: recipient address rejected: not served here',
    );
    const rows = await stack.sql`select 1 from public.emails where message_id = ${`${id}@remote.example`}`;
    expect(rows).toHaveLength(0);
  });

  it('accepts the known recipients of a message that also names an unknown one', async () => {
    const id = uniqueName('smtp-mixed');
    const info = await smtpClient(smtp.port).sendMail({
      envelope: { from: 'a@remote.example', to: [local, 'nobody@unknown.example'] },
      raw: message(id, { to: local }),
    });
    expect(info.accepted).toEqual([local]);
    expect(info.rejected).toEqual(['nobody@unknown.example']);
    expect(await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1)).toHaveLength(1);
  });

  it('answers 552 to a message over MAX_EMAIL_BYTES, and stores nothing', async () => {
    const id = uniqueName('smtp-big');
    const before = await stack.sql<
      { n: number }[]
    >`select count(*)::int as n from public.inbound_messages where tenant_id = ${stack.defaultTenant.id}`;
    const err = await smtpClient(smtp.port)
      .sendMail({
        envelope: { from: 'a@remote.example', to: [local] },
        raw: message(id, { to: local, body: `${'x'.repeat(998)}\r\n`.repeat(150) }),
      })
      .then(
        () => null,
        (e: { responseCode?: number; response?: string }) => e,
      );
    expect(err?.responseCode).toBe(552);
    expect(err?.response).toBe(
      `552 5.3.4 message exceeds the fixed maximum message size of ${MAX_EMAIL_BYTES} bytes`,
    );
    const after = await stack.sql<
      { n: number }[]
    >`select count(*)::int as n from public.inbound_messages where tenant_id = ${stack.defaultTenant.id}`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('refuses a message the parser refuses with 554 and the reason, and records the failure', async () => {
    const err = await smtpClient(smtp.port)
      .sendMail({ envelope: { from: 'a@remote.example', to: [local] }, raw: '\r\n\r\n' })
      .then(
        () => null,
        (e: { responseCode?: number; response?: string }) => e,
      );
    expect(err?.responseCode).toBe(554);
    expect(err?.response).toMatch(/^554 5\.6\.0 InvalidEmail: /);
  });

  it('delivers a message for two organizations to each', async () => {
    const id = uniqueName('smtp-both');
    const theirs = `ops@${other.slug}.example`;
    const info = await smtpClient(smtp.port).sendMail({
      envelope: { from: 'a@remote.example', to: [local, theirs] },
      raw: message(id, { to: `${local}, ${theirs}` }),
    });
    expect(info.accepted).toEqual([local, theirs]);
    expect(await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1)).toHaveLength(1);
    expect(await waitForEmails(stack.sql, other.id, `${id}@`, 1)).toHaveLength(1);
  });

  it('stores exactly 100 messages from 20 concurrent senders × 5', async () => {
    const prefix = uniqueName('smtp-many');
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, sender) => {
        const client = smtpClient(smtp.port);
        const replies: string[] = [];
        for (let i = 0; i < 5; i++) {
          const id = `${prefix}-${sender}-${i}`;
          const info = await client.sendMail({
            envelope: { from: `s${sender}@remote.example`, to: [local] },
            raw: message(id, { to: local }),
          });
          replies.push(info.response);
        }
        client.close();
        return replies;
      }),
    );
    expect(results.flat().filter((r) => r.startsWith('250 '))).toHaveLength(100);
    const rows = await waitForEmails(stack.sql, stack.defaultTenant.id, `${prefix}-`, 100, 240_000);
    expect(rows).toHaveLength(100);
    const ledger = await stack.sql<{ n: number; started: number }[]>`
      select count(*)::int as n, count(started_at)::int as started from public.inbound_messages
      where tenant_id = ${stack.defaultTenant.id} and envelope ->> 'mailFrom' like 's%@remote.example'`;
    expect(ledger[0]).toEqual({ n: 100, started: 100 });
  }, 300_000);
});
