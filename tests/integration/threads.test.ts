/**
 * Threads on real Postgres: whatever order the messages of a thread arrive in, they end in one thread
 * with the same id; re-storing changes nothing; unrelated messages with the same subject stay apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail } from '../../core/email.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail, upsertEmails } from '../../supabase/emails.js';
import { ensureOrganization } from '../../supabase/tenants.js';
import { testDb, uniqueName } from '../support/harness.js';

const limits = { maxEmailBytes: 1_000_000 };

function message(headers: Record<string, string>, body = 'Hi'): Uint8Array {
  const lines = Object.entries({ From: 'ann@example.com', To: 'bob@example.com', ...headers }).map(
    ([k, v]) => `${k}: ${v}`,
  );
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n${body}\r\n`);
}

// A thread of five: full References, In-Reply-To only, and a bare "Re:" with no references at all.
const thread = [
  message({ 'Message-ID': '<a@x>', Subject: 'Budget 2027' }, 'root'),
  message({ 'Message-ID': '<b@x>', Subject: 'Re: Budget 2027', 'In-Reply-To': '<a@x>', References: '<a@x>' }),
  message({
    'Message-ID': '<c@x>',
    Subject: 'RE: Budget 2027',
    References: '<a@x> <b@x>',
    'In-Reply-To': '<b@x>',
  }),
  message({ 'Message-ID': '<d@x>', Subject: 'Re: Budget 2027', 'In-Reply-To': '<c@x>' }),
  message(
    { 'Message-ID': '<e@x>', Subject: 'AW: Re: Budget 2027' },
    'bare reply from a client that drops headers',
  ),
];

function permutations(n: number, count: number): number[][] {
  // Deterministic variety: reversed, rotations, and a few interleavings.
  const base = [...Array(n).keys()];
  const out = [base, [...base].reverse()];
  for (let r = 1; out.length < count; r++) {
    const rotated = [...base.slice(r % n), ...base.slice(0, r % n)];
    out.push(
      r % 2 ? rotated : rotated.filter((_, i) => i % 2 === 0).concat(rotated.filter((_, i) => i % 2 === 1)),
    );
  }
  return out.slice(0, count);
}

describe('threads', () => {
  let sql: Sql;
  beforeAll(() => {
    sql = testDb();
  });
  afterAll(() => sql?.end());

  it('joins out-of-order arrivals into one thread with an order-independent id', async () => {
    const parsed = await Promise.all(thread.map((raw) => parseEmail(raw, limits)));
    const threadIds = new Set<string>();
    for (const order of permutations(parsed.length, 8)) {
      const tenant = await ensureOrganization(sql, uniqueName('thread'));
      for (const i of order) await upsertEmail(sql, tenant.id, parsed[i]!);
      const rows = await sql`select distinct thread_id from public.emails where tenant_id = ${tenant.id}`;
      expect(rows, `order ${order.join(',')}`).toHaveLength(1);
      threadIds.add(rows[0]!.thread_id as string);

      // Idempotent: storing everything again changes no thread.
      for (const p of parsed) expect((await upsertEmail(sql, tenant.id, p)).created).toBe(false);
      const again = await sql`select distinct thread_id from public.emails where tenant_id = ${tenant.id}`;
      expect(again.map((r) => r.thread_id)).toEqual([...threadIds].slice(-1));
    }
    expect([...threadIds]).toEqual(['mid:a@x']);
  });

  it('one upsertEmails statement (an mbox slice) threads every order as call by call does', async () => {
    const parsed = await Promise.all(thread.map((raw) => parseEmail(raw, limits)));
    for (const order of permutations(parsed.length, 4)) {
      const tenant = await ensureOrganization(sql, uniqueName('thread-batch'));
      // The root twice: the second of the same message in one statement is a duplicate.
      const batch = [...order.map((i) => parsed[i]!), parsed[0]!];
      const stored = await upsertEmails(sql, tenant.id, batch);
      expect(stored.map((s) => s.created)).toEqual([...order.map(() => true), false]);
      // Returned ids are each email's thread when it was stored; a later one may merge threads.
      const rows = await sql`select distinct thread_id from public.emails where tenant_id = ${tenant.id}`;
      expect(
        rows.map((r) => r.thread_id),
        `order ${order.join(',')}`,
      ).toEqual(['mid:a@x']);
    }
  });

  it('keeps unrelated messages apart, even with the same subject', async () => {
    const tenant = await ensureOrganization(sql, uniqueName('thread'));
    const first = await parseEmail(message({ 'Message-ID': '<h1@x>', Subject: 'Hello' }), limits);
    const second = await parseEmail(message({ 'Message-ID': '<h2@x>', Subject: 'Hello' }), limits);
    const noId = await parseEmail(message({ Subject: 'Hello' }, 'no message id'), limits);
    const a = await upsertEmail(sql, tenant.id, first);
    const b = await upsertEmail(sql, tenant.id, second);
    const c = await upsertEmail(sql, tenant.id, noId);
    expect(new Set([a.threadId, b.threadId, c.threadId]).size).toBe(3);
    expect(c.threadId).toBe(`key:${noId.dedupKey}`);

    // A bare reply joins the subject's threads: here both originals, merged into one.
    const reply = await parseEmail(message({ 'Message-ID': '<h3@x>', Subject: 'Re: Hello' }), limits);
    const r = await upsertEmail(sql, tenant.id, reply);
    const rows =
      await sql`select message_id, thread_id from public.emails where tenant_id = ${tenant.id} order by message_id`;
    const byId = Object.fromEntries(rows.map((row) => [row.message_id ?? 'none', row.thread_id]));
    expect(byId['h3@x']).toBe(r.threadId);
    expect(byId['h1@x']).toBe(r.threadId);
    expect(byId['h2@x']).toBe(r.threadId);
  });

  it('keeps tenants apart', async () => {
    const [t1, t2] = await Promise.all(
      [uniqueName('thread'), uniqueName('thread')].map((s) => ensureOrganization(sql, s)),
    );
    const root = await parseEmail(thread[0]!, limits);
    const reply = await parseEmail(thread[1]!, limits);
    await upsertEmail(sql, t1!.id, root);
    const other = await upsertEmail(sql, t2!.id, reply);
    const [row] = await sql`select thread_id from public.emails where tenant_id = ${t1!.id}`;
    expect(row!.thread_id).toBe('mid:a@x');
    expect(other.threadId).toBe('mid:a@x'); // same key, but its own tenant's thread
    const [count] =
      await sql`select count(*)::int as n from public.emails where thread_id = 'mid:a@x' and tenant_id = ${t2!.id}`;
    expect(count!.n).toBe(1);
  });
});
