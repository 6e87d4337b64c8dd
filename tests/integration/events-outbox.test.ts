/**
 * The outbox on a real Postgres: events written in the changing transaction, broadcast to Supabase
 * Realtime's table on the tenant's topic, readable only by the tenant's members (events and
 * realtime.messages, as Realtime's authorization check reads it), and a reader that catches up after a
 * restart and never skips an event that a longer transaction commits late.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail } from '../../core/email.js';
import type { OutboxEvent } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { asCaller } from '../../supabase/caller.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { startEventListener } from '../../supabase/event-listener.js';
import { addMember, ensureOrganization, type Tenant } from '../../supabase/tenants.js';
import { testDb, uniqueName } from '../support/harness.js';
import { uniqueMessage } from '../support/subscriptions.js';

const log = createLogger('warn');

async function storeEmail(sql: Sql, tenantId: string, subject: string): Promise<string> {
  const parsed = await parseEmail(Buffer.from(uniqueMessage(subject)), { maxEmailBytes: 1_000_000 });
  return (await upsertEmail(sql, tenantId, parsed)).emailId;
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('events outbox', () => {
  let sql: Sql;
  let a: Tenant;
  let b: Tenant;
  const userA = randomUUID();
  const userB = randomUUID();

  beforeAll(async () => {
    sql = testDb();
    a = await ensureOrganization(sql, uniqueName('ev-a'));
    b = await ensureOrganization(sql, uniqueName('ev-b'));
    await addMember(sql, a.id, userA, 'member');
    await addMember(sql, b.id, userB, 'viewer');
  });
  afterAll(() => sql?.end());

  it('a stored email writes email.received in its transaction, with no body in the payload', async () => {
    const emailId = await storeEmail(sql, a.id, 'Hello outbox');
    const [event] = await sql`
      select type, subject_id, payload from public.events where tenant_id = ${a.id} and subject_id = ${emailId}`;
    expect(event).toMatchObject({ type: 'email.received', subject_id: emailId });
    expect(event!.payload).toMatchObject({ emailId, subject: 'Hello outbox', from: 'ada@example.com' });
    expect(JSON.stringify(event!.payload)).not.toContain('invoice portal');

    // A change rolled back leaves no event.
    await sql
      .begin(async (tx) => {
        await upsertEmail(
          tx,
          a.id,
          await parseEmail(Buffer.from(uniqueMessage('Rolled back')), { maxEmailBytes: 1e6 }),
        );
        throw new Error('roll back');
      })
      .catch(() => {});
    const rolled = await sql`
      select 1 from public.events where tenant_id = ${a.id} and payload ->> 'subject' = 'Rolled back'`;
    expect(rolled).toHaveLength(0);
  });

  it('an analysis writes email.analyzed with category, priority and summary', async () => {
    const emailId = await storeEmail(sql, a.id, 'To analyse');
    await sql`update public.emails set ai_analysis = ${sql.json({ category: 'support', priority: 5, summary: 'Portal down' })}
              where id = ${emailId}`;
    const [event] = await sql`
      select payload from public.events where subject_id = ${emailId} and type = 'email.analyzed'`;
    expect(event!.payload).toMatchObject({
      emailId,
      category: 'support',
      priority: 5,
      summary: 'Portal down',
    });
  });

  it('every event is broadcast on the tenant’s private Realtime topic', async () => {
    const emailId = await storeEmail(sql, a.id, 'Broadcast me');
    const rows = await sql`
      select topic, event, private, extension, payload from realtime.messages
      where payload ->> 'subjectId' = ${emailId}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      topic: `tenant:${a.id}`,
      event: 'email.received',
      private: true,
      extension: 'broadcast',
    });
    expect(rows[0]!.payload).toMatchObject({ type: 'email.received', tenantId: a.id, subjectId: emailId });
  });

  it('members read only their tenant’s events and Realtime messages (with the topic set as Realtime sets it)', async () => {
    await storeEmail(sql, a.id, 'For A');
    await storeEmail(sql, b.id, 'For B');
    const readAs = (sub: string, topic: string | null) =>
      asCaller(sql, { role: 'authenticated', sub }, async (tx) => {
        if (topic) await tx`select set_config('realtime.topic', ${topic}, true)`;
        const events =
          await tx`select distinct tenant_id from public.events where tenant_id in (${a.id}, ${b.id})`;
        const messages = await tx`
          select distinct topic from realtime.messages where topic in (${`tenant:${a.id}`}, ${`tenant:${b.id}`})`;
        return { events: events.map((r) => r.tenant_id), topics: messages.map((r) => r.topic) };
      });
    expect(await readAs(userA, null)).toEqual({ events: [a.id], topics: [`tenant:${a.id}`] });
    expect(await readAs(userA, `tenant:${a.id}`)).toEqual({ events: [a.id], topics: [`tenant:${a.id}`] });
    // Joining another tenant's channel: Realtime's check finds no row, so the join is refused.
    expect((await readAs(userA, `tenant:${b.id}`)).topics).toEqual([]);
    expect(await readAs(userB, null)).toEqual({ events: [b.id], topics: [`tenant:${b.id}`] });
    expect(await readAs(randomUUID(), `tenant:${a.id}`)).toEqual({ events: [], topics: [] });
  });

  it('a reader restarted from its cursor catches up in order, losing nothing', async () => {
    const got: OutboxEvent[] = [];
    const onEvents = (events: OutboxEvent[]) => {
      got.push(...events.filter((e) => e.tenantId === b.id));
    };
    const first = await startEventListener({ sql, notify: true, pollMs: 5000, log, onEvents });
    let one: string;
    try {
      one = await storeEmail(sql, b.id, 'one');
      await until('the first event', () => (got.length >= 1 ? true : undefined));
    } finally {
      await first.stop();
    }
    const saved = first.cursor();
    const two = await storeEmail(sql, b.id, 'two');
    const three = await storeEmail(sql, b.id, 'three');
    const second = await startEventListener({ sql, notify: true, pollMs: 5000, from: saved, log, onEvents });
    try {
      await until('the missed events', () => (got.length >= 3 ? true : undefined));
      expect(got.map((e) => e.subjectId)).toEqual([one, two, three]);
    } finally {
      await second.stop();
    }
  });

  it('an event committed late by an older transaction is delivered, before the newer one', async () => {
    const got: string[] = [];
    const reader = await startEventListener({
      sql,
      notify: true,
      pollMs: 5000,
      log,
      onEvents: (events) => {
        got.push(...events.filter((e) => e.tenantId === b.id).map((e) => e.subjectId));
      },
    });
    const holder = testDb();
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      const olderId = `older-${randomUUID()}`;
      const newer = `newer-${randomUUID()}`;
      let written = false;
      const older = holder.begin(async (tx) => {
        await tx`select public.record_event(${b.id}, 'run.failed', ${olderId}, '{}')`;
        written = true;
        await held;
      });
      await until('the older transaction to write', () => (written ? true : undefined));
      await sql`select public.record_event(${b.id}, 'run.failed', ${newer}, '{}')`;
      await new Promise((r) => setTimeout(r, 300));
      // Reading by id alone would deliver the newer event now and skip the older one for good.
      expect(got).toEqual([]);
      release();
      await older;
      await until('both events', () => (got.length >= 2 ? true : undefined));
      expect(got).toEqual([olderId, newer]);
    } finally {
      await reader.stop();
      await holder.end();
    }
  });

  it('retention purges old events (and the compat Realtime rows), tenant by tenant', async () => {
    const emailId = await storeEmail(sql, b.id, 'old news');
    await sql`update public.events set created_at = now() - interval '40 days' where subject_id = ${emailId}`;
    await sql`update realtime.messages set inserted_at = now() - interval '40 days' where payload ->> 'subjectId' = ${emailId}`;
    const before = new Date(Date.now() - 30 * 86_400_000);
    const [dry] = await sql`select public.purge_events(${before}, 100, true, ${b.id}) as n`;
    expect(dry!.n).toBe(1);
    const [purged] = await sql`select public.purge_events(${before}, 100, false, ${b.id}) as n`;
    expect(purged!.n).toBe(1);
    expect(await sql`select 1 from public.events where subject_id = ${emailId}`).toHaveLength(0);
    expect(
      await sql`select 1 from realtime.messages where payload ->> 'subjectId' = ${emailId}`,
    ).toHaveLength(0);
  });
});
